package kueue.training;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import kueue.client.KueueCli;

/**
 * Trains the ahead-of-time caches of all four launchers for install.sh, against a private fleet of
 * its own (a server and a worker on 127.0.0.1 with a temporary home, config and database), so that
 * the caches hold the paths of real work whatever the user's config says and whether or not a
 * server runs. A server started from its cache listened in half the time and CPU of one without
 * (bench/README.md), which is most of a restart.
 *
 * <p>It is in kueue-training.jar, which install.sh uses from the build and does not install. The
 * training runs themselves (kueue.client.AotTraining, kueue.client.daemon.RelayTraining) are in the
 * installed jars: a cache is refused by a JVM whose class path is shorter than the training run's
 * ("app classpath has fewer elements than expected"), so they run on exactly the launchers' class
 * paths, PROGRAM_JAR or RELAY_JAR alone.
 *
 * <p>The server and the worker are trained by running them with {@code -XX:AOTCacheOutput} while
 * jobs go through them; the JVM writes the cache when they stop. The CLI's two caches are trained
 * by kueue.client.AotTraining and kueue.client.daemon.RelayTraining against the same fleet.
 *
 * <p>Arguments: {@code SHARE_DIRECTORY SERVER_OPTIONS WORKER_OPTIONS CLIENT_OPTIONS PROGRAM_JAR
 * RELAY_JAR}, each options argument one string of JVM options, the same as the launchers', which
 * the cache requires, as it requires the same class path: PROGRAM_JAR (kueue.jar) for all but the
 * relay, which has RELAY_JAR alone.
 */
public final class LauncherTraining {
  private static final Duration STEP_LIMIT = Duration.ofSeconds(120);

  private final Path share;
  private final Path home;
  private final Path config;
  private final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
  private final Map<String, String> environment;

  private final String programJar;
  private final String relayJar;

  private LauncherTraining(Path share, Path home, String programJar, String relayJar)
      throws IOException {
    this.share = share;
    this.programJar = programJar;
    this.relayJar = relayJar;
    this.home = home;
    this.config = home.resolve("config.toml");
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("HOME", home.toString());
    env.remove("XDG_CONFIG_HOME");
    env.remove("XDG_CACHE_HOME");
    env.put("KUEUE_CLI_DAEMON", "off");
    this.environment = Map.copyOf(env);
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println(
          "usage: LauncherTraining SHARE_DIRECTORY SERVER_OPTIONS WORKER_OPTIONS CLIENT_OPTIONS"
              + " PROGRAM_JAR RELAY_JAR");
      System.exit(2);
    }
    Path home =
        Files.createTempDirectory(
            "kueue-training",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try {
      new LauncherTraining(Path.of(args[0]), home, args[4], args[5])
          .train(options(args[1]), options(args[2]), options(args[3]));
    } finally {
      try (Stream<Path> files = Files.walk(home)) {
        files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  private static List<String> options(String joined) {
    return Arrays.stream(joined.trim().split("\\s+")).filter(option -> !option.isEmpty()).toList();
  }

  private void train(
      List<String> serverOptions, List<String> workerOptions, List<String> clientOptions)
      throws Exception {
    writeConfig();
    Process server = start("server", serverOptions, "kueue-server.aot", "kueue.server.ServerMain");
    Process worker = null;
    try {
      awaitUntil("the training server listens", () -> log("server").contains("listening on"));
      worker = start("worker", workerOptions, "kueue-worker.aot", "kueue.worker.WorkerMain");
      awaitUntil(
          "the training worker registers",
          () -> cli("list-workers", "--json").contains("\"name\""));

      // The daily paths: single and batch submissions, waits, listings, removal. Batches of short
      // jobs give the server's compiler the profiles of its busiest code: with a cache trained
      // so, bench/throughput's server used about half the CPU per job of one without.
      cli("cmd", "--wait", "--array", "1-1000", "true");
      cli("cmd", "--wait", "--array", "1-1000", "true");
      for (int i = 0; i < 20; i++) {
        cli("cmd", "--wait", "sh", "-c", "exit " + (i % 3));
      }
      String sleeping = cli("cmd", "sleep", "60").strip();
      cli("list-jobs");
      cli("list-jobs", "--json", "-n", "0");
      cli("show-job", "1");
      cli("list-workers");
      cli("show-worker", "training");
      cli("remove-job", "--kill", sleeping);
      cli("clean-jobs");

      trainClient(clientOptions, "kueue-in-process.aot", "in-process");
      trainClient(clientOptions, "kueue-relay.aot", "relay");
    } finally {
      if (worker != null) {
        stop(worker, "kueue-worker.aot");
      }
      stop(server, "kueue-server.aot");
    }
  }

  private void writeConfig() throws IOException {
    byte[] secret = new byte[24];
    new SecureRandom().nextBytes(secret);
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = probe.getLocalPort();
    }
    String text =
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        [server]
        address_bindings = "127.0.0.1"
        data_directory = "%s"
        [worker]
        worker_name = "training"
        worker_max_parallel_jobs = 4
        dynamic_check_free_resources = false
        """
            .formatted(HexFormat.of().formatHex(secret), port, home.resolve("data"));
    Files.createDirectories(home.resolve("data"));
    Files.writeString(config, text);
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  private Process start(String name, List<String> options, String cache, String mainClass)
      throws IOException {
    ProcessBuilder builder =
        java(options, cache, programJar, mainClass)
            .redirectErrorStream(true)
            .redirectOutput(home.resolve(name + ".log").toFile());
    return builder.start();
  }

  /** A JVM with the launcher's options that writes the cache named when it exits. */
  private ProcessBuilder java(
      List<String> options, String cache, String path, String mainClass, String... args) {
    List<String> command = new ArrayList<>(List.of(java));
    command.addAll(options);
    command.addAll(
        List.of(
            "-XX:AOTCacheOutput=" + share.resolve(cache + ".new"),
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            path,
            mainClass));
    command.addAll(List.of(args));
    command.addAll(List.of("-c", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
    builder.environment().putAll(environment);
    return builder;
  }

  /** Stops a trained program; the JVM writes its cache as it exits. */
  private void stop(Process process, String cache) throws Exception {
    process.destroy();
    if (!process.waitFor(STEP_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    install(cache);
  }

  private void trainClient(List<String> options, String cache, String mode) throws Exception {
    ProcessBuilder builder;
    if (mode.equals("relay")) {
      List<String> relayOptions = new ArrayList<>(options);
      relayOptions.add("-Dkueue.cli.classpath=" + programJar);
      builder = java(relayOptions, cache, relayJar, "kueue.client.daemon.RelayTraining");
    } else {
      builder = java(options, cache, programJar, "kueue.client.AotTraining", mode);
    }
    builder
        .redirectErrorStream(true)
        .redirectOutput(home.resolve("client-" + mode + ".log").toFile());
    builder.environment().remove("KUEUE_CLI_DAEMON");
    Process training = builder.start();
    if (!training.waitFor(STEP_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
      training.destroyForcibly();
      training.waitFor(10, TimeUnit.SECONDS);
    }
    if (training.exitValue() != 0) {
      // A cache from a run that failed half-way lacks the classes of the steps it did not reach.
      Files.deleteIfExists(share.resolve(cache + ".new"));
      System.out.println("    training " + cache + " failed (exit " + training.exitValue() + "):");
      List<String> lines = log("client-" + mode).lines().toList();
      lines
          .subList(Math.max(0, lines.size() - 20), lines.size())
          .forEach(line -> System.out.println("      " + line));
    }
    install(cache);
  }

  /**
   * Puts a new cache in place, or removes the old one when training failed: a stale cache is worse.
   */
  private void install(String cache) throws IOException {
    Path fresh = share.resolve(cache + ".new");
    if (Files.isRegularFile(fresh) && Files.size(fresh) > 0) {
      Files.move(
          fresh,
          share.resolve(cache),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
      System.out.println("    trained " + share.resolve(cache));
    } else {
      Files.deleteIfExists(fresh);
      Files.deleteIfExists(share.resolve(cache));
      System.out.println("    no cache for " + cache + " (training failed; it runs without one)");
    }
  }

  private String cli(String... args) {
    List<String> arguments = new ArrayList<>(List.of("-c", config.toString()));
    arguments.addAll(List.of(args));
    StringWriter out = new StringWriter();
    KueueCli.run(
        arguments.toArray(String[]::new),
        new PrintWriter(out),
        new PrintWriter(new StringWriter()),
        environment,
        home);
    return out.toString();
  }

  private String log(String name) {
    try {
      Path file = home.resolve(name + ".log");
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static void awaitUntil(String what, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + STEP_LIMIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + ": not within " + STEP_LIMIT.toSeconds() + " s");
      }
      Thread.sleep(50);
    }
  }
}
