package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import kueue.config.KueueVersion;
import kueue.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerMainTest {
  private static final String SECRET = "67g-VN7QeZ32b_74W2GFY7SeER1yKmwPQ1iQSgmQ9XU";

  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private Process child;

  @AfterEach
  void killChild() {
    if (child != null) {
      child.destroyForcibly();
    }
  }

  private int worker(String... args) {
    return WorkerMain.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
  }

  @Test
  void versionPrintsTheProgramAndVersion() {
    assertThat(worker("--version")).isZero();
    assertThat(out.toString().strip()).isEqualTo("kueue_worker " + KueueVersion.VERSION);
  }

  @Test
  void helpListsTheConfigOption() {
    assertThat(worker("--help")).isZero();
    assertThat(out.toString()).contains("kueue_worker", "-c, --config=PATH", "--version");
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    assertThat(worker("--frobnicate")).isEqualTo(2);
    assertThat(err.toString()).contains("Unknown option: '--frobnicate'");
  }

  @Test
  void aBrokenConfigFileGivesOneLineAndExitCodeTwo() throws Exception {
    Path config = writeConfig("[common\nshared_secret = ");

    assertThat(worker("-c", config.toString())).isEqualTo(2);

    List<String> lines = err.toString().lines().toList();
    assertThat(lines).hasSize(1);
    assertThat(lines.getFirst()).startsWith("kueue_worker: ").contains(config.toString());
  }

  @Test
  void restartWorkersWithoutHostsSaysWhereToListThem() throws Exception {
    Path config = writeConfig("[common]\nshared_secret = \"" + SECRET + "\"\n");

    int code =
        RestartWorkersMain.execute(
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            "-c",
            config.toString(),
            "--once");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo(
            "kueue_restart_workers: no hosts to check: set hostnames in [restart_workers] of "
                + config);
  }

  @Test
  void restartWorkersRejectsAHostWithABadPort() throws Exception {
    Path config =
        writeConfig(
            "[common]\nshared_secret = \""
                + SECRET
                + "\"\n[restart_workers]\nhostnames = \"ralab04 ralab05:ssh\"\n");

    int code =
        RestartWorkersMain.execute(
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            "-c",
            config.toString(),
            "--once");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString().strip())
        .startsWith("kueue_restart_workers: " + config + ": [restart_workers] hostnames: ")
        .contains("\"ralab05:ssh\" has an invalid port");
  }

  @Test
  void restartWorkersWithoutAnSshAgentSaysHowToStartOne() throws Exception {
    Path config =
        writeConfig(
            "[common]\nshared_secret = \""
                + SECRET
                + "\"\n[restart_workers]\nhostnames = \"ralab04\"\n");
    ProcessBuilder builder =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                RestartWorkersMain.class.getName(),
                "-c",
                config.toString(),
                "--once")
            .redirectErrorStream(true);
    builder.environment().remove("SSH_AUTH_SOCK");
    child = builder.start();
    String output = new String(child.getInputStream().readAllBytes());

    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(child.exitValue()).as(output).isEqualTo(2);
    assertThat(output.strip())
        .isEqualTo(
            "kueue_restart_workers: no ssh-agent: SSH_AUTH_SOCK is not set; start one with eval"
                + " \"$(ssh-agent)\" and add your key with ssh-add");
  }

  @Test
  void restartWorkersPrintsItsVersion() {
    int code =
        RestartWorkersMain.execute(
            new PrintWriter(out, true), new PrintWriter(err, true), "--version");

    assertThat(code).isZero();
    assertThat(out.toString().strip()).isEqualTo("kueue_restart_workers " + KueueVersion.VERSION);
  }

  @Test
  void theProgramRunsJobsAndOnSigtermKillsThemAndExitsWithZero() throws Exception {
    try (ScriptedServer server = new ScriptedServer(SECRET)) {
      Path config =
          writeConfig(
              """
              [common]
              shared_secret = "%s"
              server_name = "127.0.0.1"
              server_port = %d
              [worker]
              worker_name = "e2e-worker"
              """
                  .formatted(SECRET, server.port()));
      kueue.protocol.ServerKeyPin.publish(
          dir.resolve("server-key.pub"), server.pinnedIdentity(), "the scripted server");
      Path log = dir.resolve("worker.log");
      ProcessBuilder builder =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  WorkerMain.class.getName(),
                  "-c",
                  config.toString())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile());
      builder.environment().put("XDG_CONFIG_HOME", dir.resolve("xdg").toString());
      child = builder.start();

      ScriptedServer.Peer peer = server.awaitPeer();
      assertThat(peer.expect(Message.Register.class).name()).isEqualTo("e2e-worker");
      peer.send(new Message.Registered(5));
      peer.send(
          new Message.Offer(
              1,
              1,
              Jobs.command(dir, "sh", "-c", "echo $$ > pid.tmp; mv pid.tmp pid; exec sleep 1000")));
      peer.expect(Message.Started.class);
      await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(dir.resolve("pid")));
      ProcessHandle job =
          ProcessHandle.of(Long.parseLong(Files.readString(dir.resolve("pid")).strip()))
              .orElseThrow();

      child.destroy(); // SIGTERM

      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.exitValue()).as(Files.readString(log)).isZero();
      assertThat(job.isAlive()).isFalse();
      assertThat(peer.awaitClosedByWorker(Duration.ofSeconds(10))).isTrue();
      assertThat(peer.receivedExceptHeartbeats()).noneMatch(m -> m instanceof Message.Ended);
      assertThat(Files.readString(log)).contains("registered with server").doesNotContain(SECRET);
    }
  }

  private Path writeConfig(String text) throws Exception {
    Path config = dir.resolve("config.toml");
    Files.writeString(config, text);
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
    return config;
  }
}
