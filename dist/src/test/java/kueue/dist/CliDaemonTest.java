package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code kueue} launcher's main class, kueue.client.daemon.CliRelay, run as a process against a
 * real server and worker: the first command runs in-process and starts the user's CLI daemon, the
 * next ones are relayed to it. The fleet is shared by the tests; each has its own XDG_RUNTIME_DIR,
 * so its own daemon, which is ended by PID afterwards.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliDaemonTest {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final Pattern DAEMON_PID = Pattern.compile("\\(pid (\\d+)\\)");

  @TempDir static Path home;
  private Fleet fleet;
  private Path runtime;
  private String classPath;
  private List<String> jvmOptions;

  /** What starts the relay's JVM: nothing but the JVM itself, unless a test sets it. */
  private List<String> launcher;

  @BeforeAll
  void startFleet() throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of());
    fleet.startWorker("alpha", "worker_max_parallel_jobs = 2");
  }

  @AfterAll
  void stopFleet() {
    fleet.close();
  }

  @BeforeEach
  void ownRuntimeDirectory() throws IOException {
    runtime = Files.createTempDirectory(home, "runtime");
    classPath = System.getProperty("java.class.path");
    jvmOptions = List.of();
    launcher = List.of();
  }

  @AfterEach
  void stopDaemons() throws IOException {
    for (long pid : daemonPids()) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  @Test
  void aRelayedSubmissionCarriesTheUmaskOfTheKueueProcessNotTheDaemons() throws Exception {
    relay(Map.of(), home, null, "list-workers");
    awaitDaemon();

    launcher = List.of("/bin/sh", "-c", "umask 077 && exec \"$@\"", "sh");
    Fleet.Result relayed =
        relay(Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "cmd", "--wait", "sh", "-c", "umask");

    assertThat(relayed.exitCode()).as(relayed.toString()).isZero();
    assertThat(relayed.err()).contains("kueue: trace: request sent");
    String id = relayed.out().lines().findFirst().orElseThrow().trim();
    Fleet.Result shown = relay(Map.of(), home, null, "show-job", id);
    assertThat(shown.out()).contains("0077");
  }

  @Test
  void theFirstCommandStartsTheDaemonAndTheNextAreRelayedWithTheSameResults() throws Exception {
    Fleet.Result inProcess = relay(Map.of(), home, null, "cmd", "--wait", "sh", "-c", "exit 7");
    assertThat(inProcess.exitCode()).as(inProcess.toString()).isEqualTo(7);
    awaitDaemon();

    Fleet.Result relayed =
        relay(
            Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "cmd", "--wait", "sh", "-c", "exit 7");
    assertThat(relayed.exitCode()).as(relayed.toString()).isEqualTo(7);
    assertThat(relayed.err())
        .contains("kueue: trace: pipes opened")
        .contains("kueue: trace: request sent")
        .doesNotContain("command model");
    assertThat(relayed.err()).containsPattern("job \\d+ failed with exit code 7");

    Matcher failed = Pattern.compile("job (\\d+) failed").matcher(relayed.err());
    assertThat(failed.find()).isTrue();
    Fleet.Result shown = relay(Map.of(), home, null, "show-job", failed.group(1), "--json");
    assertThat(shown.exitCode()).as(shown.toString()).isZero();
    assertThat(shown.out())
        .contains("\"exitCode\" : 7")
        .isEqualTo(inProcessRun("show-job", failed.group(1), "--json").out());

    Fleet.Result usage = relay(Map.of(), home, null, "cmd", "--no-such-option", "true");
    assertThat(usage.exitCode()).isEqualTo(2);
    assertThat(usage.err()).contains("--no-such-option");
  }

  @Test
  void aRelayedJobRunsInTheCallersDirectoryWithTheCallersEnvironmentAndReadsItsStdin()
      throws Exception {
    relay(Map.of(), home, null, "list-workers");
    awaitDaemon();
    Path directory = Files.createDirectories(home.resolve("project"));

    Fleet.Result run =
        relay(
            Map.of("KUEUE_TEST_VALUE", "from the caller"),
            directory,
            null,
            "cmd",
            "--wait",
            "sh",
            "-c",
            "pwd > where; printf %s \"$KUEUE_TEST_VALUE\" > what");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(Files.readString(directory.resolve("where")).strip())
        .isEqualTo(directory.toString());
    assertThat(Files.readString(directory.resolve("what"))).isEqualTo("from the caller");

    Path lines = home.resolve("lines.txt");
    Files.writeString(lines, "echo one > one.txt\necho two > two.txt\n");
    Fleet.Result batch = relay(Map.of(), directory, lines, "cmd", "--wait", "--file", "-");
    assertThat(batch.exitCode()).as(batch.toString()).isZero();
    assertThat(Files.readString(directory.resolve("one.txt")).strip()).isEqualTo("one");
    assertThat(Files.readString(directory.resolve("two.txt")).strip()).isEqualTo("two");
  }

  @Test
  void commandsStartedTogetherAreServedTogetherEachWithItsOwnAnswer() throws Exception {
    relay(Map.of(), home, null, "list-jobs");
    awaitDaemon();
    // More than the daemon keeps pairs of pipes for: the others come through the socket.
    int count = 12;
    List<Process> processes = new ArrayList<>();
    List<Path> outputs = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Path out = home.resolve("together-" + i + ".out");
      outputs.add(out);
      processes.add(
          start(
              fleet.clientConfig(),
              Map.of("KUEUE_TRACE_STARTUP", "1"),
              home,
              null,
              new String[] {"cmd", "--wait", "sh", "-c", "exit " + i},
              out,
              home.resolve("together-" + i + ".err")));
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      assertThat(processes.get(i).waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(processes.get(i).exitValue()).isEqualTo(i);
      assertThat(Files.readString(home.resolve("together-" + i + ".err"))).contains("request sent");
      ids.add(Files.readString(outputs.get(i)).strip());
    }
    assertThat(ids).doesNotHaveDuplicates().allMatch(id -> id.matches("\\d+"));
    assertThat(IntStream.range(0, count).mapToObj(i -> home.resolve("together-" + i + ".err")))
        .anySatisfy(err -> assertThat(Files.readString(err)).contains("pipes opened"));
  }

  @Test
  void aDaemonKilledWithPipesReadyDoesNotHoldUpTheNextCommand() throws Exception {
    relay(Map.of(), home, null, "list-jobs");
    long killed = awaitDaemon();
    assertThat(spareTokens()).isNotEmpty();
    ProcessHandle.of(killed).orElseThrow().destroyForcibly();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> ProcessHandle.of(killed).map(ph -> !ph.isAlive()).orElse(true));
    // Its tokens are still there, but nothing will ever open their pipes.
    assertThat(spareTokens()).isNotEmpty();

    Fleet.Result next =
        relay(
            Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "cmd", "--wait", "sh", "-c", "exit 3");

    assertThat(next.exitCode()).as(next.toString()).isEqualTo(3);
    assertThat(next.err())
        .contains("pipe pair claimed")
        .contains("daemon started")
        .doesNotContain("pipes opened");
    await().atMost(Duration.ofSeconds(30)).until(() -> daemonPids().size() == 2);
    Fleet.Result after = relay(Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "list-workers");
    assertThat(after.exitCode()).as(after.toString()).isZero();
    assertThat(after.err()).contains("pipes opened");
  }

  @Test
  void eachCommandReadsTheConfigAfreshAndUsesOnlyConnectionsMadeWithItsSettings() throws Exception {
    relay(Map.of(), home, null, "list-workers");
    awaitDaemon();
    assertThat(relay(Map.of(), home, null, "list-workers").exitCode()).isZero();

    Path wrongSecret =
        fleet.config("wrong-secret", "ycvNgQmyhbr5JBHmZQGAcdpFobC3COr4AtWRtZGoY-M", Map.of());
    Fleet.Result refused = relayWith(wrongSecret, Map.of(), home, null, "list-workers");
    assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(4);
    assertThat(refused.err()).contains("shared_secret");

    assertThat(relay(Map.of(), home, null, "list-workers").exitCode()).isZero();
  }

  @Test
  void aServerRestartBetweenCommandsDoesNotFailTheNextCommand() throws Exception {
    relay(Map.of(), home, null, "list-jobs");
    awaitDaemon();
    assertThat(relay(Map.of(), home, null, "list-jobs").exitCode()).isZero();

    fleet.killServer();
    fleet.startServer(Map.of());

    Fleet.Result afterRestart = relay(Map.of(), home, null, "list-jobs");
    assertThat(afterRestart.exitCode()).as(afterRestart.toString()).isZero();
  }

  @Test
  void aCommandWhoseRelayIsKilledEndsInTheDaemonToo() throws Exception {
    long job = fleet.submit("sleep", "120");
    Map<String, String> shortIdle = Map.of("KUEUE_CLI_DAEMON_IDLE_SECONDS", "3");
    relay(shortIdle, home, null, "list-jobs");
    long daemon = awaitDaemon();

    Path err = home.resolve("wait-err.txt");
    Process waiting =
        start(
            fleet.clientConfig(),
            Map.of("KUEUE_TRACE_STARTUP", "1"),
            home,
            null,
            new String[] {"wait-job", String.valueOf(job)},
            home.resolve("wait-out.txt"),
            err);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Files.readString(err).contains("request sent"));
    // Busy with the wait, the daemon outlives its idle limit.
    await()
        .during(Duration.ofSeconds(5))
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false)
                    && waiting.isAlive());

    waiting.destroyForcibly();
    waiting.waitFor(10, TimeUnit.SECONDS);

    // Cancelled, the wait no longer holds the daemon, which then exits for being idle.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> ProcessHandle.of(daemon).map(ph -> !ph.isAlive()).orElse(true));
    assertThat(socket()).isEmpty();
    assertThat(daemonLog()).contains("idle for 3 s, exiting");
    assertThat(fleet.kueue("remove-job", "--kill", String.valueOf(job)).exitCode()).isZero();
  }

  @Test
  void ctrlCWhileWaitingSaysWhyTheJobWaitsThatItGoesOnAndHowToComeBackToIt() throws Exception {
    // A JVM leaves SIGINT alone when it was ignored at its start (a test run in the background).
    String ignored =
        Files.readAllLines(Path.of("/proc/self/status")).stream()
            .filter(line -> line.startsWith("SigIgn:"))
            .findFirst()
            .orElse("SigIgn: 0");
    assumeThat(Long.parseLong(ignored.substring(7).strip(), 16) & 2).as("SIGINT ignored").isZero();
    relay(Map.of(), home, null, "list-workers");
    awaitDaemon();
    // Through the daemon, then in-process.
    for (Map<String, String> env :
        List.of(Map.<String, String>of(), Map.of("KUEUE_CLI_DAEMON", "off"))) {
      Path gone = Files.createDirectories(home.resolve("gone-" + env.size()));
      Path out = Files.createTempFile(home, "out", ".txt");
      Path err = Files.createTempFile(home, "err", ".txt");
      Process waiting =
          start(
              fleet.clientConfig(),
              env,
              gone,
              null,
              new String[] {"cmd", "--wait", "--hold", "true"},
              out,
              err);
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.readString(err).contains("waits: held until released"));
      long job = Long.parseLong(Files.readString(out).strip());
      Files.delete(gone);
      assertThat(fleet.kueue("release", String.valueOf(job)).exitCode()).isZero();
      String declined =
          "kueue: job "
              + job
              + " waits: declined by every connected worker: alpha: working directory "
              + gone
              + " does not exist on alpha";
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(err).contains(declined));
      assertThat(fleet.kueue("list-jobs").out()).contains("pending (declined by all)");

      assertThat(
              new ProcessBuilder("kill", "-INT", String.valueOf(waiting.pid())).start().waitFor())
          .isZero();

      assertThat(waiting.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String said = Files.readString(err);
      assertThat(waiting.exitValue()).as(said).isEqualTo(75);
      assertThat(said)
          .containsOnlyOnce("waits: held until released")
          .containsOnlyOnce(declined)
          .contains(
              "kueue: stopped waiting; job "
                  + job
                  + " goes on. Follow it: kueue log -f "
                  + job
                  + "; wait for it: kueue wait-job "
                  + job
                  + "; stop it: kueue remove-job --kill "
                  + job);
      assertThat(fleet.kueue("show-job", String.valueOf(job)).out())
          .contains("pending (declined by all)")
          .containsPattern("worker: +-\\n");
      assertThat(fleet.kueue("remove-job", String.valueOf(job)).exitCode()).isZero();
    }
  }

  @Test
  void aReinstalledKueueGetsANewDaemonAndTheOldOneExits() throws Exception {
    Path marker = home.resolve("installed.jar");
    Files.write(marker, new byte[0]);
    classPath = classPath + File.pathSeparator + marker;
    relay(Map.of(), home, null, "list-jobs");
    long before = awaitDaemon();
    Path oldSocket = socket().orElseThrow();
    Path oldPipes = pipesDirectory().orElseThrow();
    long job = fleet.submit("sleep", "120");
    Path err = home.resolve("reinstall-wait-err.txt");
    Process waiting =
        start(
            fleet.clientConfig(),
            Map.of("KUEUE_TRACE_STARTUP", "1"),
            home,
            null,
            new String[] {"wait-job", String.valueOf(job)},
            home.resolve("reinstall-wait-out.txt"),
            err);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> Files.readString(err).contains("request sent"));

    Files.setLastModifiedTime(marker, FileTime.from(Instant.now().plusSeconds(60)));

    // The old daemon stops listening at once, but finishes the wait under way.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> daemonLog().contains("Kueue was reinstalled, exiting"));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> !Files.exists(oldSocket) && !Files.exists(oldPipes));
    assertThat(waiting.isAlive()).isTrue();
    assertThat(ProcessHandle.of(before).map(ProcessHandle::isAlive)).contains(true);
    assertThat(fleet.kueue("remove-job", "--kill", String.valueOf(job)).exitCode()).isZero();
    assertThat(waiting.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.readString(err)).doesNotContain("lost the local CLI daemon");
    assertThat(waiting.exitValue()).isEqualTo(130);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> ProcessHandle.of(before).map(ph -> !ph.isAlive()).orElse(true));
    Fleet.Result next = relay(Map.of(), home, null, "list-jobs");
    assertThat(next.exitCode()).as(next.toString()).isZero();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> socket().filter(path -> !path.equals(oldSocket)).isPresent());
  }

  @Test
  void withOnlyTheRelayJarOnItsClassPathCommandsAreRelayedOrRunInProcess() throws Exception {
    String fullClassPath = System.getProperty("java.class.path");
    Path clientJar =
        Stream.of(fullClassPath.split(File.pathSeparator))
            .map(Path::of)
            .filter(
                path ->
                    path.getFileName().toString().matches("kueue-client-[0-9.]+(-SNAPSHOT)?\\.jar"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no kueue-client jar on " + fullClassPath));
    Path relayJar =
        clientJar.resolveSibling(clientJar.getFileName().toString().replace(".jar", "-relay.jar"));
    assertThat(relayJar).exists();
    classPath = relayJar.toString();
    jvmOptions = List.of("-Dkueue.cli.classpath=" + fullClassPath);

    Fleet.Result first =
        relay(
            Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "cmd", "--wait", "sh", "-c", "exit 7");
    assertThat(first.exitCode()).as(first.toString()).isEqualTo(7);
    assertThat(first.err()).contains("daemon started").contains("request sent");
    Fleet.Result next = relay(Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "list-workers");
    assertThat(next.exitCode()).as(next.toString()).isZero();
    assertThat(next.err()).contains("request sent").doesNotContain("daemon started");
    Fleet.Result dashboard =
        relay(Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "dashboard", "--help");
    assertThat(dashboard.exitCode()).as(dashboard.toString()).isZero();
    assertThat(dashboard.out()).as("found in the CLI's own class loader").contains("--no-open");
    assertThat(dashboard.err()).as("run in-process").doesNotContain("request sent");

    Path shared =
        Files.createDirectory(
            runtime.resolve("shared"),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Files.createDirectory(
        shared.resolve("kueue"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Fleet.Result inProcess =
        relay(
            Map.of("XDG_RUNTIME_DIR", shared.toString()),
            home,
            null,
            "cmd",
            "--wait",
            "sh",
            "-c",
            "exit 5");
    assertThat(inProcess.exitCode()).as(inProcess.toString()).isEqualTo(5);
    assertThat(inProcess.err()).contains("not starting the CLI daemon");
  }

  @Test
  void withoutAPrivateDirectoryThereIsNoDaemonAndCommandsStillWork() throws Exception {
    Path shared =
        Files.createDirectory(
            runtime.resolve("kueue"),
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));

    Fleet.Result run = relay(Map.of(), home, null, "cmd", "--wait", "true");

    assertThat(run.exitCode()).as(run.toString()).isZero();
    assertThat(run.err()).contains("not starting the CLI daemon").contains(shared.toString());
    try (Stream<Path> files = Files.list(shared)) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void garbageOnTheSocketIsRefusedAndTheDaemonServesTheNextCommand() throws Exception {
    relay(Map.of(), home, null, "list-jobs");
    long daemon = awaitDaemon();
    for (byte[] garbage :
        List.of(
            "GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            new byte[] {0x4b, 0x51, 0x4c, 0x01, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff})) {
      try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
        channel.connect(UnixDomainSocketAddress.of(socket().orElseThrow()));
        channel.write(ByteBuffer.wrap(garbage));
        channel.shutdownOutput();
        // The daemon closes the connection without answering.
        assertThat(channel.read(ByteBuffer.allocate(16))).isEqualTo(-1);
      }
    }
    assertThat(daemonLog()).contains("refused a malformed request");

    // The same through a pair of pipes, claimed and opened by hand as the relay does.
    Path pipes = pipesDirectory().orElseThrow();
    String pair = spareTokens().getFirst();
    Files.delete(pipes.resolve("spare").resolve(pair));
    OutputStream toDaemon = Files.newOutputStream(pipes.resolve(pair + ".in"));
    try (var fromDaemon = Files.newInputStream(pipes.resolve(pair + ".out"))) {
      toDaemon.write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      // Closed before reading, so that the daemon sees the end of the request.
      toDaemon.close();
      assertThat(fromDaemon.read()).isEqualTo(-1);
    } finally {
      toDaemon.close();
    }
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> daemonLog().split("refused a malformed request", -1).length - 1 == 3);

    Fleet.Result next = relay(Map.of("KUEUE_TRACE_STARTUP", "1"), home, null, "list-jobs");
    assertThat(next.exitCode()).as(next.toString()).isZero();
    assertThat(next.err()).contains("kueue: trace: request sent");
    assertThat(ProcessHandle.of(daemon).map(ProcessHandle::isAlive)).contains(true);
  }

  private Fleet.Result inProcessRun(String... args) throws Exception {
    return relay(Map.of("KUEUE_CLI_DAEMON", "off"), home, null, args);
  }

  private Fleet.Result relay(Map<String, String> env, Path cwd, Path stdin, String... args)
      throws Exception {
    return relayWith(fleet.clientConfig(), env, cwd, stdin, args);
  }

  private Fleet.Result relayWith(
      Path config, Map<String, String> env, Path cwd, Path stdin, String... args) throws Exception {
    Path out = Files.createTempFile(home, "out", ".txt");
    Path err = Files.createTempFile(home, "err", ".txt");
    Process process = start(config, env, cwd, stdin, args, out, err);
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("kueue " + String.join(" ", args) + " did not finish within 60 s");
    }
    return new Fleet.Result(
        process.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private Process start(Path config, Map<String, String> env, Path cwd, Path stdin, String... args)
      throws IOException {
    return start(
        config,
        env,
        cwd,
        stdin,
        args,
        home.resolve("discarded-out.txt"),
        home.resolve("discarded-err.txt"));
  }

  private Process start(
      Path config, Map<String, String> env, Path cwd, Path stdin, String[] args, Path out, Path err)
      throws IOException {
    List<String> command = new ArrayList<>(launcher);
    command.addAll(
        List.of(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1"));
    command.addAll(jvmOptions);
    command.addAll(
        List.of("-cp", classPath, "kueue.client.daemon.CliRelay", "-c", config.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(cwd.toFile());
    Map<String, String> environment = new HashMap<>();
    environment.put("HOME", home.toString());
    environment.put("XDG_RUNTIME_DIR", runtime.toString());
    builder.environment().remove("KUEUE_CLI_DAEMON");
    builder.environment().putAll(environment);
    builder.environment().putAll(env);
    builder
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(
            stdin == null
                ? ProcessBuilder.Redirect.from(new File("/dev/null"))
                : ProcessBuilder.Redirect.from(stdin.toFile()));
    return builder.start();
  }

  /** Waits until the daemon listens; returns its pid. */
  private long awaitDaemon() throws IOException {
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> socket().isPresent() && !daemonPids().isEmpty());
    List<Long> pids = daemonPids();
    return pids.getLast();
  }

  private Optional<Path> socket() throws IOException {
    return daemonFile(".sock");
  }

  private Optional<Path> pipesDirectory() throws IOException {
    return daemonFile(".pipes");
  }

  /** The first file of the daemon's directory whose name ends so. */
  private Optional<Path> daemonFile(String suffix) throws IOException {
    Path directory = runtime.resolve("kueue");
    if (!Files.isDirectory(directory)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(directory)) {
      return files.filter(path -> path.getFileName().toString().endsWith(suffix)).findFirst();
    }
  }

  /** The pairs of pipes the daemon has ready. */
  private List<String> spareTokens() throws IOException {
    Optional<Path> pipes = pipesDirectory();
    if (pipes.isEmpty() || !Files.isDirectory(pipes.get().resolve("spare"))) {
      return List.of();
    }
    try (Stream<Path> tokens = Files.list(pipes.get().resolve("spare"))) {
      return tokens.map(path -> path.getFileName().toString()).sorted().toList();
    }
  }

  private String daemonLog() throws IOException {
    Path directory = runtime.resolve("kueue");
    if (!Files.isDirectory(directory)) {
      return "";
    }
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.list(directory)) {
      for (Path log :
          files.filter(path -> path.getFileName().toString().endsWith(".log")).sorted().toList()) {
        all.append(Files.readString(log));
      }
    }
    return all.toString();
  }

  /** The daemons this test started, from the lines they log when they start listening. */
  private List<Long> daemonPids() throws IOException {
    List<Long> pids = new ArrayList<>();
    Matcher matcher = DAEMON_PID.matcher(daemonLog());
    while (matcher.find()) {
      pids.add(Long.parseLong(matcher.group(1)));
    }
    return pids;
  }
}
