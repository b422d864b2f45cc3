package kueue.dist;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real Kueue fleet on loopback for end-to-end tests: a server and workers as separate JVM
 * processes with their own config files under a fresh home directory, and the {@code kueue} CLI run
 * as a process like a user would. Everything it started is ended by PID in {@link #close()}.
 */
final class Fleet implements AutoCloseable {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final String CLASSPATH = System.getProperty("java.class.path");
  static final String SECRET = "qqrPRw3AONQrah2lbFSBYPacWgghbA-Tr9bafx-bzks";

  final Path home;
  final int port;
  // Tests run CLIs on other threads while this one restarts the server.
  private final List<Process> processes = new java.util.concurrent.CopyOnWriteArrayList<>();
  private Process server;
  private String classPath = CLASSPATH;
  private int workerCount;

  Fleet(Path home) throws IOException {
    this.home = home;
    this.port = freePort();
    Files.createDirectories(home.resolve("data"));
  }

  /**
   * From now on, programs load their classes from jars, as an installed Kueue does, instead of the
   * build's class directories: a jar is opened once, while a directory needs a file opened for
   * every class loaded, which fails in a process that has run out of file descriptors.
   */
  void runFromJars() throws IOException {
    List<String> entries = new ArrayList<>();
    int packed = 0;
    for (String entry : CLASSPATH.split(java.io.File.pathSeparator)) {
      Path path = Path.of(entry);
      if (!Files.isDirectory(path)) {
        entries.add(entry);
        continue;
      }
      Path jar = home.resolve("classes-" + packed++ + ".jar");
      try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
          var files = Files.walk(path)) {
        for (Path file : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
          out.putNextEntry(new java.util.jar.JarEntry(path.relativize(file).toString()));
          Files.copy(file, out);
          out.closeEntry();
        }
      }
      entries.add(jar.toString());
    }
    classPath = String.join(java.io.File.pathSeparator, entries);
  }

  /** Writes a config for one program; extra lines are appended per section name. */
  Path config(String name, String secret, Map<String, String> extra) throws IOException {
    return config(name, secret, port, extra);
  }

  /** Like {@link #config(String, String, Map)}, connecting to another port (e.g. a proxy's). */
  Path config(String name, String secret, int serverPort, Map<String, String> extra)
      throws IOException {
    Map<String, String> sections = new HashMap<>(extra);
    String text =
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        log_level = "info"
        %s
        [server]
        address_bindings = "127.0.0.1"
        worker_timeout_seconds = 5
        job_offer_timeout_seconds = 10
        data_directory = "%s"
        %s
        [worker]
        heartbeat_interval_seconds = 1
        %s
        [client]
        job_default_cpus = 1
        job_default_ram_mb = 100
        %s
        [global_resources]
        %s
        """
            .formatted(
                secret,
                serverPort,
                sections.getOrDefault("common", ""),
                home.resolve("data"),
                sections.getOrDefault("server", ""),
                workerSettings(sections.getOrDefault("worker", "")),
                sections.getOrDefault("client", ""),
                sections.getOrDefault("global_resources", ""));
    Path file = home.resolve(name + ".toml");
    Files.writeString(file, text);
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  /**
   * Static mode unless a test asks otherwise: other programs on the shared test machine must not
   * change where jobs go.
   */
  private static String workerSettings(String settings) {
    return settings.contains("dynamic_check_free_resources")
        ? settings
        : "dynamic_check_free_resources = false\n" + settings;
  }

  Path clientConfig() throws IOException {
    Path file = home.resolve("client.toml");
    return Files.exists(file) ? file : config("client", SECRET, Map.of());
  }

  void startServer(Map<String, String> extra) throws IOException {
    startServer(List.of(), extra);
  }

  /** Starts the server with a command in front of java, e.g. prlimit's. */
  void startServer(List<String> prefix, Map<String, String> extra) throws IOException {
    Path config = config("server", SECRET, extra);
    int startsBefore = log("server").split("listening on", -1).length;
    server = start(prefix, "server", "kueue.server.ServerMain", "-c", config.toString());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> log("server").split("listening on", -1).length > startsBefore);
  }

  void killServer() throws InterruptedException {
    server.destroyForcibly();
    server.waitFor(10, TimeUnit.SECONDS);
  }

  /** Starts a worker with the given [worker] lines, e.g. "worker_max_parallel_jobs = 2". */
  Process startWorker(String name, String workerSettings) throws IOException {
    return startWorker(name, workerSettings, Map.of());
  }

  /** Like {@link #startWorker(String, String)}, with these variables in its environment. */
  Process startWorker(String name, String workerSettings, Map<String, String> environment)
      throws IOException {
    Path config =
        config(
            "worker-" + name,
            SECRET,
            Map.of("worker", "worker_name = \"" + name + "\"\n" + workerSettings));
    Process worker =
        start(
            List.of(),
            environment,
            "worker-" + name,
            "kueue.worker.WorkerMain",
            "-c",
            config.toString());
    workerCount++;
    int expected = workerCount;
    try {
      // Generous: on a loaded 2-core machine a cold worker JVM has taken over 30 s to register.
      await()
          .atMost(Duration.ofSeconds(90))
          .until(
              () ->
                  kueue("list-workers", "--json").out().split("\"name\"", -1).length - 1
                      >= expected);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      Path log = home.resolve("worker-" + name + ".log");
      throw new AssertionError(
          "worker "
              + name
              + " did not register; its log:\n"
              + (Files.exists(log) ? Files.readString(log) : "(none)"),
          e);
    }
    return worker;
  }

  Process start(String name, String mainClass, String... args) throws IOException {
    return start(List.of(), name, mainClass, args);
  }

  Process start(List<String> prefix, String name, String mainClass, String... args)
      throws IOException {
    return start(prefix, Map.of(), name, mainClass, args);
  }

  Process start(
      List<String> prefix,
      Map<String, String> environment,
      String name,
      String mainClass,
      String... args)
      throws IOException {
    List<String> command = new ArrayList<>(prefix);
    command.addAll(
        List.of(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classPath,
            mainClass));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve(name + ".log").toFile()));
    builder.environment().put("HOME", home.toString());
    builder.environment().putAll(environment);
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  String log(String name) {
    try {
      Path file = home.resolve(name + ".log");
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  record Result(int exitCode, String out, String err) {
    @Override
    public String toString() {
      return "exit " + exitCode + "\nstdout:\n" + out + "\nstderr:\n" + err;
    }
  }

  /** Runs the kueue CLI in a process, in the fleet's home, and waits for it. */
  Result kueue(String... args) throws IOException, InterruptedException {
    return kueueIn(home, Map.of(), args);
  }

  Result kueueIn(Path cwd, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    return kueueWith(clientConfig(), cwd, env, args);
  }

  Result kueueWith(Path config, Path cwd, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    return kueueWith(config, cwd, env, Duration.ofSeconds(60), args);
  }

  /** For a command that may rightly take longer than a minute, e.g. waiting across restarts. */
  Result kueueWithin(Duration limit, Path cwd, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    return kueueWith(clientConfig(), cwd, env, limit, args);
  }

  /** Like {@link #kueue}, run by a shell that sets this umask first (e.g. "077"). */
  Result kueueWithUmask(String umask, String... args) throws IOException, InterruptedException {
    return kueueWith(
        List.of("/bin/sh", "-c", "umask " + umask + " && exec \"$@\"", "sh"),
        clientConfig(),
        home,
        Map.of(),
        Duration.ofSeconds(60),
        args);
  }

  private Result kueueWith(
      Path config, Path cwd, Map<String, String> env, Duration limit, String... args)
      throws IOException, InterruptedException {
    return kueueWith(List.of(), config, cwd, env, limit, args);
  }

  private Result kueueWith(
      List<String> launcher,
      Path config,
      Path cwd,
      Map<String, String> env,
      Duration limit,
      String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(launcher);
    command.addAll(CliLauncher.command());
    command.addAll(List.of("-c", config.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(cwd.toFile());
    builder.environment().put("HOME", home.toString());
    builder.environment().putAll(env);
    Path out = Files.createTempFile(home, "out", ".txt");
    Path err = Files.createTempFile(home, "err", ".txt");
    builder
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process process = builder.start();
    processes.add(process);
    if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(
          "kueue " + String.join(" ", args) + " did not finish within " + limit.toSeconds() + " s");
    }
    processes.remove(process);
    Result result =
        new Result(
            process.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
    Files.delete(out);
    Files.delete(err);
    return result;
  }

  /**
   * Starts the kueue CLI in a process without waiting for it; its stdout and stderr go to the
   * files. It is ended in {@link #close()} if it is still running.
   */
  Process startKueue(Path out, Path err, String... args) throws IOException {
    List<String> command = new ArrayList<>(CliLauncher.command());
    command.addAll(List.of("-c", clientConfig().toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
    builder.environment().put("HOME", home.toString());
    builder
        .redirectOutput(out.toFile())
        .redirectError(err.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  /** Starts the kueue CLI in the background (e.g. the dashboard); its output goes to name.log. */
  Process startKueue(String name, String... args) throws IOException {
    List<String> command = new ArrayList<>(CliLauncher.command());
    command.addAll(List.of("-c", clientConfig().toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(home.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve(name + ".log").toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    builder.environment().put("HOME", home.toString());
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  /** Submits and returns the job id. */
  long submit(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("cmd"));
    command.addAll(List.of(args));
    Result result = kueue(command.toArray(String[]::new));
    if (result.exitCode() != 0) {
      throw new AssertionError("submit failed: " + result);
    }
    return Long.parseLong(result.out().trim());
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (Process process : processes) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
    for (Process process : processes) {
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
