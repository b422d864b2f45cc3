package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import kueue.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReaperTest {
  private static final String SECRET = "fqAacC1tREsmDeYCzHiRivtYbKu8Q9ffv6tDFEyeFRE";
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    for (Process process : started) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  /** A process in a process group of its own, like a job. */
  private Process groupLeader(String... command) throws IOException {
    List<String> argv = new ArrayList<>(List.of("setsid"));
    argv.addAll(List.of(command));
    Process process = new ProcessBuilder(argv).start();
    started.add(process);
    return process;
  }

  /** Dead, or a zombie nobody has collected yet: either way it runs no more. */
  private static boolean gone(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException e) {
      return true;
    }
  }

  @Test
  void whenThePipeClosesTheTrackedGroupsAreKilledAndOthersLeftAlone() throws Exception {
    Reaper reaper = Reaper.start(Duration.ofMillis(200));
    Process tracked = groupLeader("sh", "-c", "sleep 1000 & sleep 1000");
    Process ended = groupLeader("sleep", "1000");
    Process untracked = groupLeader("sleep", "1000");
    await().atMost(WAIT).until(() -> tracked.descendants().count() == 2);
    long child = tracked.descendants().findFirst().orElseThrow().pid();
    reaper.track(tracked.pid());
    reaper.track(ended.pid());
    reaper.untrack(ended.pid());

    reaper.close();

    await().atMost(WAIT).until(() -> gone(tracked.pid()) && gone(child));
    assertThat(ended.isAlive()).as("a group whose job ended is not touched").isTrue();
    assertThat(untracked.isAlive()).isTrue();
    assertThat(reaper.tracked()).containsExactly(tracked.pid());
  }

  @Test
  void anEndIsToldToTheShellSoonEvenWhenNoJobStartsAfterIt() throws Exception {
    Reaper reaper = Reaper.start(Duration.ofMillis(200));
    Process tracked = groupLeader("sleep", "1000");
    Process ended = groupLeader("sleep", "1000");
    reaper.track(tracked.pid());
    reaper.track(ended.pid());
    reaper.untrack(ended.pid());
    await().atMost(WAIT).until(() -> !reaper.hasPendingEnds());

    reaper.closeAsIfKilled();

    await().atMost(WAIT).until(() -> gone(tracked.pid()));
    assertThat(ended.isAlive()).as("a group whose end was told is not touched").isTrue();
  }

  @Test
  void anEndGoesToTheShellWithTheNextStart() throws Exception {
    Reaper reaper = Reaper.start(Duration.ofMillis(200));
    Process ended = groupLeader("sleep", "1000");
    Process next = groupLeader("sleep", "1000");
    reaper.track(ended.pid());
    reaper.untrack(ended.pid());

    reaper.track(next.pid());
    assertThat(reaper.hasPendingEnds()).isFalse();
    reaper.closeAsIfKilled();

    await().atMost(WAIT).until(() -> gone(next.pid()));
    assertThat(ended.isAlive()).isTrue();
  }

  @Test
  void aGroupThatIgnoresTermIsKilledAfterTheGrace() throws Exception {
    Reaper reaper = Reaper.start(Duration.ofMillis(300));
    Path ready = dir.resolve("ready");
    Process stubborn =
        groupLeader("sh", "-c", "trap '' TERM; touch " + ready + "; while :; do sleep 0.05; done");
    await().atMost(WAIT).until(() -> Files.exists(ready));
    reaper.track(stubborn.pid());

    reaper.close();

    assertThat(stubborn.waitFor(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
    assertThat(stubborn.exitValue()).isEqualTo(128 + 9);
  }

  @Test
  void aKilledReaperIsReplacedAndTakesOverTheGroupsStillRunning() throws Exception {
    Reaper reaper = Reaper.start(Duration.ofMillis(200));
    Process first = groupLeader("sleep", "1000");
    reaper.track(first.pid());
    long firstReaper = reaper.pid();
    ProcessHandle.of(firstReaper).orElseThrow().destroyForcibly();
    await().atMost(WAIT).until(() -> gone(firstReaper));
    Process second = groupLeader("sleep", "1000");

    reaper.track(second.pid());
    reaper.close();

    assertThat(reaper.pid()).isNotEqualTo(firstReaper);
    await().atMost(WAIT).until(() -> gone(first.pid()) && gone(second.pid()));
  }

  @Test
  void theJobsOfAWorkerKilledWithSigkillDieWithIt() throws Exception {
    try (ScriptedServer server = new ScriptedServer(SECRET)) {
      Path config = dir.resolve("config.toml");
      Files.writeString(
          config,
          """
          [common]
          shared_secret = "%s"
          server_name = "127.0.0.1"
          server_port = %d
          [worker]
          worker_name = "doomed"
          """
              .formatted(SECRET, server.port()));
      kueue.protocol.ServerKeyPin.publish(
          dir.resolve("server-key.pub"), server.pinnedIdentity(), "the scripted server");
      Files.setPosixFilePermissions(
          config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      ProcessBuilder builder =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  WorkerMain.class.getName(),
                  "-c",
                  config.toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("worker.log").toFile());
      builder.environment().put("XDG_CONFIG_HOME", dir.resolve("xdg").toString());
      Process worker = builder.start();
      started.add(worker);

      ScriptedServer.Peer peer = server.awaitPeer();
      peer.expect(Message.Register.class);
      peer.send(new Message.Registered(1));
      Path pidFile = dir.resolve("pid");
      peer.send(
          new Message.Offer(
              1,
              1,
              Jobs.command(
                  dir, "sh", "-c", "sleep 1000 & echo $$ > pid.tmp; mv pid.tmp pid; wait")));
      peer.expect(Message.Started.class);
      await().atMost(WAIT).until(() -> Files.exists(pidFile));
      long job = Long.parseLong(Files.readString(pidFile).strip());
      await()
          .atMost(WAIT)
          .until(() -> ProcessHandle.of(job).orElseThrow().descendants().count() == 1);
      long grandchild =
          ProcessHandle.of(job).orElseThrow().descendants().findFirst().orElseThrow().pid();

      worker.destroyForcibly(); // SIGKILL: the worker cannot clean up after itself
      assertThat(worker.waitFor(10, TimeUnit.SECONDS)).isTrue();

      await()
          .atMost(WAIT)
          .untilAsserted(
              () ->
                  assertThat(gone(job) && gone(grandchild))
                      .as(
                          "the job and its child are gone\n%s",
                          Files.readString(dir.resolve("worker.log")))
                      .isTrue());
    }
  }
}
