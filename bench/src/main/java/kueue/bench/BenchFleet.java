package kueue.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kueue.client.KueueClient;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.protocol.Message;

/**
 * A server, and optionally workers, as separate JVMs on 127.0.0.1 under a temporary directory, for
 * benchmarks. Started from this jar's own classpath; everything started is ended in close().
 */
final class BenchFleet implements AutoCloseable {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  static final String CLASSPATH = System.getProperty("java.class.path");

  final Path dir;
  final Path config;
  private final List<Process> processes = new ArrayList<>();
  Process server;

  /** extraServer/extraWorker are TOML lines added to those sections. */
  BenchFleet(String extraServer, String extraWorker) throws IOException {
    dir = Files.createTempDirectory("kueue-bench");
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    config = dir.resolve("config.toml");
    Files.writeString(
        config,
        """
        [common]
        shared_secret = "q1NzzQXNOoRy40oGO_346nzJ45btNBXkOMyGnFQ8dqE"
        server_name = "127.0.0.1"
        server_port = %d
        log_level = "warn"
        [server]
        address_bindings = "127.0.0.1"
        data_directory = "%s"
        %s
        [worker]
        dynamic_check_free_resources = false
        %s
        """
            .formatted(port, dir.resolve("data"), extraServer, extraWorker));
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
  }

  KueueConfig loadConfig() throws Exception {
    return ConfigLoader.load(config, warning -> {}, System.getenv());
  }

  /**
   * The JVM options of install.sh's kueue_worker launcher: the benchmarks measure the worker as
   * users run it.
   */
  private static final String[] WORKER_JVM_OPTIONS = {"-XX:+UseSerialGC", "-Xmx256m"};

  void startServer(String... jvmOptions) throws Exception {
    // The server's alone, e.g. -XX:AOTCache=... to measure it as install.sh's launcher runs it.
    String extra = System.getenv("KUEUE_BENCH_SERVER_OPTIONS");
    if (extra != null && !extra.isBlank()) {
      List<String> options = new ArrayList<>(List.of(jvmOptions));
      options.addAll(List.of(extra.strip().split("\\s+")));
      jvmOptions = options.toArray(String[]::new);
    }
    server = start("server", "kueue.server.ServerMain", jvmOptions);
    awaitServer();
  }

  /** extraOptions come after the launcher's, e.g. -XX:AOTCache=... as the launcher adds it. */
  Process startWorker(String name, String... extraOptions) throws Exception {
    return startWorkerFrom(CLASSPATH, name, extraOptions);
  }

  /** A worker from another class path, e.g. the jar of an earlier build to compare with. */
  Process startWorkerFrom(String classPath, String name, String... extraOptions) throws Exception {
    List<String> options = new ArrayList<>(List.of(WORKER_JVM_OPTIONS));
    options.addAll(List.of(extraOptions));
    // The worker's alone, e.g. a JFR recording of it.
    String extra = System.getenv("KUEUE_BENCH_WORKER_OPTIONS");
    if (extra != null && !extra.isBlank()) {
      options.addAll(List.of(extra.strip().split("\\s+")));
    }
    return start(
        classPath, "worker-" + name, "kueue.worker.WorkerMain", options.toArray(String[]::new));
  }

  /**
   * Stops a process started here with SIGTERM and waits for it, e.g. so that it writes its AOT
   * cache.
   */
  static void stop(Process process) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  Process start(String log, String mainClass, String... jvmOptions) throws IOException {
    return start(CLASSPATH, log, mainClass, jvmOptions);
  }

  private Process start(String classPath, String log, String mainClass, String... jvmOptions)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED"));
    command.addAll(List.of(jvmOptions));
    // Lets a profiler be attached without editing the benchmark, e.g. a JFR recording.
    String extra = System.getenv("KUEUE_BENCH_JVM_OPTIONS");
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.strip().split("\\s+")));
    }
    command.addAll(List.of("-cp", classPath, mainClass, "-c", config.toString()));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(log + ".log").toFile()))
            .start();
    processes.add(process);
    return process;
  }

  /** Waits until the server answers; returns how long that took. */
  Duration awaitServer() throws Exception {
    Instant start = Instant.now();
    KueueConfig loaded = loadConfig();
    Instant deadline = start.plusSeconds(120);
    while (Instant.now().isBefore(deadline)) {
      try (KueueClient client = KueueClient.connect(loaded.common(), config)) {
        client.request(new Message.ListResources());
        return Duration.between(start, Instant.now());
      } catch (Exception e) {
        Thread.sleep(20);
      }
    }
    throw new IllegalStateException("server did not come up; see " + dir.resolve("server.log"));
  }

  void awaitWorkers(int count) throws Exception {
    awaitWorkerCount(n -> n >= count, "workers did not connect");
  }

  /**
   * Waits until the server lists no worker, e.g. after one was stopped and before the next starts.
   */
  void awaitNoWorkers() throws Exception {
    awaitWorkerCount(n -> n == 0, "the server still lists a stopped worker");
  }

  private void awaitWorkerCount(java.util.function.IntPredicate done, String failure)
      throws Exception {
    Instant deadline = Instant.now().plusSeconds(60);
    try (KueueClient client = client()) {
      while (Instant.now().isBefore(deadline)) {
        var reply = (Message.WorkerList) client.request(new Message.ListWorkers());
        if (done.test(reply.workers().size())) {
          return;
        }
        Thread.sleep(20);
      }
    }
    throw new IllegalStateException(failure);
  }

  KueueClient client() throws Exception {
    KueueConfig loaded = loadConfig();
    return KueueClient.connect(loaded.common(), config);
  }

  /** CPU time (user + system) the process has used, from /proc. */
  static Duration cpuTime(Process process) throws IOException {
    return cpuTime(Files.readString(Path.of("/proc/" + process.pid() + "/stat")));
  }

  /**
   * CPU time of the process's threads, summed by thread name (as the kernel keeps it: at most 15
   * characters; pooled threads share a name). Threads that ended are missing.
   */
  static java.util.Map<String, Duration> cpuByThread(Process process) throws IOException {
    java.util.Map<String, Duration> byName = new java.util.TreeMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
      for (Path task : tasks.toList()) {
        String stat;
        try {
          stat = Files.readString(task.resolve("stat"));
        } catch (IOException gone) {
          continue;
        }
        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        byName.merge(name, cpuTime(stat), Duration::plus);
      }
    }
    return byName;
  }

  /**
   * Context switches of the process's threads so far, voluntary (the thread waited: a queue, a
   * socket, a lock) and not, summed; threads that ended are missing.
   */
  static long contextSwitches(Process process) throws IOException {
    long switches = 0;
    try (Stream<Path> tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
      for (Path task : tasks.toList()) {
        List<String> status;
        try {
          status = Files.readAllLines(task.resolve("status"));
        } catch (IOException gone) {
          continue;
        }
        for (String line : status) {
          if (line.startsWith("voluntary_ctxt_switches:")
              || line.startsWith("nonvoluntary_ctxt_switches:")) {
            switches += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
          }
        }
      }
    }
    return switches;
  }

  /**
   * CPU time of the worker's reaper shell (a long-lived child: the jobs' CPU is not in it), or
   * zero.
   */
  static Duration reaperCpu(Process worker) throws IOException {
    for (ProcessHandle child : worker.toHandle().children().toList()) {
      boolean reaper =
          child.info().arguments().map(a -> List.of(a).contains("kueue-reaper")).orElse(false);
      if (reaper) {
        try {
          return cpuTime(Files.readString(Path.of("/proc/" + child.pid() + "/stat")));
        } catch (IOException gone) {
          return Duration.ZERO;
        }
      }
    }
    return Duration.ZERO;
  }

  private static Duration cpuTime(String stat) {
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    return Duration.ofMillis(ticks * 10); // USER_HZ is 100 on Linux
  }

  /**
   * The machine's busy and total CPU time so far, summed over its cores, from /proc/stat's first
   * line (idle and iowait count as not busy), in USER_HZ ticks.
   */
  static long[] machineTicks() throws IOException {
    String line = Files.readAllLines(Path.of("/proc/stat")).getFirst();
    String[] fields = line.trim().split("\\s+");
    long total = 0;
    // user nice system idle iowait irq softirq steal; guest time is already in user.
    for (int i = 1; i <= 8 && i < fields.length; i++) {
      total += Long.parseLong(fields[i]);
    }
    long idle = Long.parseLong(fields[4]) + Long.parseLong(fields[5]);
    return new long[] {total - idle, total};
  }

  /** Resident memory of the process in MiB, from /proc. */
  static long rssMib(Process process) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    return -1;
  }

  @Override
  public void close() throws IOException {
    for (Process process : processes) {
      process.destroy();
    }
    for (Process process : processes) {
      try {
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
    if (System.getenv("KUEUE_BENCH_KEEP") != null) {
      System.err.println("kept " + dir);
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
