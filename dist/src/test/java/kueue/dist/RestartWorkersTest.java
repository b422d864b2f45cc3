package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kueue_restart_workers} against a real OpenSSH server on loopback that lets the test's user
 * in with a key held by an ssh-agent the test starts. One sshd listens on several ports, and each
 * port plays a different host: the worker command exists in the home directory sshd gives one port,
 * is missing from another's and exits at once in a third, known_hosts has the right key for some
 * ports, a wrong one for another and none for a third, and one port has nothing listening.
 */
class RestartWorkersTest {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final String CLASSPATH = System.getProperty("java.class.path");
  private static final Path SSHD = Path.of("/usr/sbin/sshd");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private Fleet fleet;
  private final List<Process> processes = new ArrayList<>();
  private Path agentSocket;
  private Path userHome;
  private int good;
  private int broken;
  private int exitsAtOnce;
  private int changedKey;
  private int unknownKey;
  private int nothingListening;

  @BeforeEach
  void startServerSshdAndAgent() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(SSHD), "needs OpenSSH's sshd (Debian package openssh-server)");
    fleet = new Fleet(dir.resolve("fleet"));
    fleet.startServer(Map.of());

    Path ssh = Files.createDirectories(dir.resolve("ssh"));
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh.resolve("host_key").toString());
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh.resolve("other_key").toString());
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh.resolve("user_key").toString());
    Files.copy(ssh.resolve("user_key.pub"), ssh.resolve("authorized_keys"));

    int[] ports = freePorts(6);
    good = ports[0];
    broken = ports[1];
    changedKey = ports[2];
    unknownKey = ports[3];
    nothingListening = ports[4];
    exitsAtOnce = ports[5];
    Path goodHome = Files.createDirectories(dir.resolve("home-good"));
    Path brokenHome = Files.createDirectories(dir.resolve("home-broken"));
    Path exitingHome = Files.createDirectories(dir.resolve("home-exiting"));
    installWorkerCommand(goodHome);
    Path exiting =
        Files.createDirectories(exitingHome.resolve(".local/bin")).resolve("kueue_worker");
    Files.writeString(exiting, "#!/bin/sh\necho 'kueue_worker: no Java here' >&2\nexit 2\n");
    Files.setPosixFilePermissions(exiting, PosixFilePermissions.fromString("rwx------"));
    Path sshdConfig = ssh.resolve("sshd_config");
    Files.writeString(
        sshdConfig,
        """
        ListenAddress 127.0.0.1
        Port %d
        Port %d
        Port %d
        Port %d
        Port %d
        HostKey %s
        PidFile none
        AuthorizedKeysFile %s
        StrictModes no
        UsePAM no
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        PermitRootLogin prohibit-password
        Match LocalPort %d
          SetEnv HOME=%s
        Match LocalPort %d
          SetEnv HOME=%s
        Match LocalPort %d
          SetEnv HOME=%s
        """
            .formatted(
                good,
                broken,
                changedKey,
                unknownKey,
                exitsAtOnce,
                ssh.resolve("host_key"),
                ssh.resolve("authorized_keys"),
                good,
                goodHome,
                broken,
                brokenHome,
                exitsAtOnce,
                exitingHome));
    // sshd started by root insists on its privilege separation directory, which the package's
    // service script creates at boot and a container without services lacks.
    if ("root".equals(System.getProperty("user.name"))) {
      Files.createDirectories(Path.of("/run/sshd"));
    }
    start(ssh.resolve("sshd.log"), SSHD.toString(), "-D", "-e", "-f", sshdConfig.toString());
    await().atMost(Duration.ofSeconds(20)).until(() -> listening(good) && listening(unknownKey));

    agentSocket = ssh.resolve("agent.sock");
    start(ssh.resolve("agent.log"), "ssh-agent", "-D", "-a", agentSocket.toString());
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(agentSocket));
    run("ssh-add", ssh.resolve("user_key").toString());

    userHome = Files.createDirectories(dir.resolve("user-home/.ssh")).getParent();
    String hostKey = Files.readString(ssh.resolve("host_key.pub")).strip();
    String otherKey = Files.readString(ssh.resolve("other_key.pub")).strip();
    Files.writeString(
        userHome.resolve(".ssh/known_hosts"),
        "[127.0.0.1]:%d %s\n[127.0.0.1]:%d %s\n[127.0.0.1]:%d %s\n[127.0.0.1]:%d %s\n"
            .formatted(good, hostKey, broken, hostKey, exitsAtOnce, hostKey, changedKey, otherKey));
  }

  /**
   * ~/.local/bin/kueue_worker, the default worker_command: the test's worker, with a config for the
   * test's server, that notes its PID so that the test can stop it.
   */
  private void installWorkerCommand(Path home) throws IOException {
    Path config = fleet.config("remote-worker", Fleet.SECRET, Map.of());
    Path bin = Files.createDirectories(home.resolve(".local/bin"));
    Path script = bin.resolve("kueue_worker");
    Files.writeString(
        script,
        """
        #!/bin/sh
        echo $$ > "$HOME/worker.pid"
        exec '%s' --enable-native-access=ALL-UNNAMED -Xmx256m -XX:+UseSerialGC \
          -XX:TieredStopAtLevel=1 -cp '%s' kueue.worker.WorkerMain -c '%s'
        """
            .formatted(JAVA, CLASSPATH, config));
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
  }

  @AfterEach
  void stopEverything() throws Exception {
    Path pidFile = dir.resolve("home-good/worker.pid");
    if (Files.exists(pidFile)) {
      ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip()))
          .ifPresent(
              worker -> {
                worker.destroyForcibly();
                worker.onExit().orTimeout(10, TimeUnit.SECONDS).join();
              });
    }
    for (Process process : processes) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void startsAWorkerWhereNoneIsConnectedReportsEachFailingHostAndLeavesARunningWorkerAlone()
      throws Exception {
    Result first =
        restartWorkers(
            "127.0.0.1:" + unknownKey,
            "127.0.0.1:" + changedKey,
            "127.0.0.1:" + nothingListening,
            "127.0.0.1:" + broken,
            "127.0.0.1:" + exitsAtOnce,
            "127.0.0.1:" + good);

    assertThat(first.exitCode()).as(first.output()).isEqualTo(1);
    assertThat(first.output())
        .contains(
            "127.0.0.1:" + unknownKey + ": failed: unknown host key (ssh-ed25519 SHA256:",
            "[127.0.0.1]:" + unknownKey + " is not in " + userHome.resolve(".ssh/known_hosts"))
        .contains(
            "127.0.0.1:" + changedKey + ": failed: HOST KEY CHANGED (ssh-ed25519 SHA256:",
            "refusing to connect")
        .contains("127.0.0.1:" + nothingListening + ": failed: connection refused")
        .contains(
            "127.0.0.1:"
                + broken
                + ": failed: could not start a worker (exit status 127): "
                + dir.resolve("home-broken/.local/bin/kueue_worker")
                + " not found")
        .contains(
            "127.0.0.1:"
                + exitsAtOnce
                + ": failed: could not start a worker (exit status 1): the worker")
        .contains("127.0.0.1:" + good + ": started a worker on ")
        .contains("127.0.0.1:" + good + ": connected (worker ");
    if (!Files.exists(Path.of("/usr/bin/screen"))) {
      // Without screen the worker's output is in a log, whose end tells why it stopped.
      assertThat(first.output()).contains("kueue_worker: no Java here");
    }
    // The worker outlived the SSH session that started it and is connected.
    long pid = Long.parseLong(Files.readString(dir.resolve("home-good/worker.pid")).strip());
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true);
    JsonNode workers = connectedWorkers();
    assertThat(workers).hasSize(1);
    String machine = workers.get(0).path("system").path("hostname").asText();
    // In screen where the host has it, else in a session of its own with a log file.
    assertThat(first.output())
        .containsPattern(
            "started a worker on "
                + Pattern.quote(machine)
                + " \\((in screen session kueue_worker|process "
                + pid
                + ", log .*/home-good/\\.local/state/kueue/worker-"
                + Pattern.quote(machine)
                + "\\.log)\\)");

    // A host listed by the name its worker reports is recognised without logging in to it (the
    // line then lacks the "on HOST" that a login adds).
    Result second = restartWorkers("127.0.0.1:" + good, machine);

    assertThat(second.exitCode()).as(second.output()).isZero();
    assertThat(second.output())
        .contains("127.0.0.1:" + good + ": already running on " + machine + " (worker ")
        .contains(machine + ": already running (worker ")
        .doesNotContain("started a worker");
    assertThat(connectedWorkers()).hasSize(1);
    assertThat(Long.parseLong(Files.readString(dir.resolve("home-good/worker.pid")).strip()))
        .isEqualTo(pid);

    // Without --once, it checks again after the pause until it is stopped.
    Path log = dir.resolve("loop.log");
    Process loop = startRestartWorkers(log, List.of(), machine);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Files.readString(log).contains("next check in 60 min"));
    assertThat(Files.readString(log)).contains(machine + ": already running (worker ");
    assertThat(loop.isAlive()).isTrue();
  }

  private record Result(int exitCode, String output) {}

  private Result restartWorkers(String... hostnames) throws Exception {
    Path log = Files.createTempFile(dir, "restart", ".log");
    Process process = startRestartWorkers(log, List.of("--once"), hostnames);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      throw new AssertionError(
          "kueue_restart_workers --once did not finish within 60 s:\n" + Files.readString(log));
    }
    return new Result(process.exitValue(), Files.readString(log));
  }

  private Process startRestartWorkers(Path log, List<String> options, String... hostnames)
      throws IOException {
    Path config = fleet.config("restart", Fleet.SECRET, Map.of());
    Files.writeString(
        config,
        Files.readString(config)
            + """
            [restart_workers]
            ssh_user = "%s"
            hostnames = "%s"
            """
                .formatted(System.getProperty("user.name"), String.join(" ", hostnames)));
    List<String> command =
        new ArrayList<>(
            List.of(
                JAVA,
                "--enable-native-access=ALL-UNNAMED",
                "-Duser.home=" + userHome,
                "-cp",
                CLASSPATH,
                "kueue.worker.RestartWorkersMain",
                "-c",
                config.toString()));
    command.addAll(options);
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("SSH_AUTH_SOCK", agentSocket.toString());
    builder.environment().put("HOME", userHome.toString());
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  private JsonNode connectedWorkers() throws Exception {
    Fleet.Result result = fleet.kueue("list-workers", "--json");
    assertThat(result.exitCode()).as(result.toString()).isZero();
    JsonNode tree = JSON.readTree(result.out());
    return tree.has("workers") ? tree.get("workers") : tree;
  }

  private void start(Path log, String... command) throws IOException {
    processes.add(
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start());
  }

  /** Runs a short command with the test's agent and fails the test if it fails. */
  private void run(String... command) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (agentSocket != null) {
      builder.environment().put("SSH_AUTH_SOCK", agentSocket.toString());
    }
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(String.join(" ", command) + ": " + output).isZero();
  }

  private static boolean listening(int port) {
    try (Socket _ = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Distinct ports: all are held open until every one is chosen. */
  private static int[] freePorts(int count) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
