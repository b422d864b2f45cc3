package kueue.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.model.BatchEntry;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobSummary;
import kueue.protocol.Message;

/**
 * Runs the same batch of short commands through {@code xargs -P SLOTS} and through Kueue (one
 * server, one worker with SLOTS job slots, on loopback), alternately, and prints both times and
 * their ratio. Also prints submit-to-start latency from the server's own timestamps.
 *
 * <p>Usage: Throughput [jobs=2000] [slots=4] [rounds=3] [command...=true]
 */
public final class Throughput {
  public static void main(String[] args) throws Exception {
    int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int slots = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    List<String> command =
        args.length > 3 ? List.of(args).subList(3, args.length) : List.of("true");

    boolean serverCache = System.getenv("KUEUE_BENCH_PLAIN_SERVER") == null;
    String plainWorker = System.getenv().getOrDefault("KUEUE_BENCH_PLAIN_WORKER", "");
    // Another build's jar (e.g. bench/target/kueue-bench.jar of an earlier commit): its worker
    // and this one's alternate, both without a cache, which would be trained for one of them only.
    String baselineJar = System.getenv("KUEUE_BENCH_BASELINE_WORKER_JAR");
    // Or this build's worker with other JVM options after the launcher's (a later option wins),
    // e.g. -XX:TieredStopAtLevel=1 to compare C1 alone with the launcher's C2.
    String baselineOptions = System.getenv("KUEUE_BENCH_BASELINE_WORKER_OPTIONS");
    String baseline =
        baselineJar != null || baselineOptions != null
            ? (baselineJar != null ? baselineJar : BenchFleet.CLASSPATH)
            : null;
    List<String> baselineExtra =
        baselineOptions == null || baselineOptions.isBlank()
            ? List.of()
            : List.of(baselineOptions.strip().split("\\s+"));
    boolean alternate = plainWorker.equals("alternate") || baseline != null;
    boolean workerCache =
        baseline == null && (plainWorker.isEmpty() || plainWorker.equals("alternate"));
    Caches caches =
        serverCache || workerCache
            ? trainCaches(jobs, slots, command, serverCache, workerCache)
            : new Caches(null, null);
    try (BenchFleet fleet = new BenchFleet("", "worker_max_parallel_jobs = " + slots)) {
      if (caches.server != null) {
        System.out.println(
            "server started from an AOT cache trained by a first pass, as install.sh's"
                + " launcher runs it (KUEUE_BENCH_PLAIN_SERVER=1: without one)");
        fleet.startServer("-Xmx1g", "-XX:AOTCache=" + caches.server);
      } else {
        System.out.println("server started without an AOT cache");
        fleet.startServer("-Xmx1g");
      }
      if (baseline != null) {
        String other =
            (baselineJar != null ? "worker of " + baselineJar : "worker of this build")
                + (baselineExtra.isEmpty() ? "" : " with " + String.join(" ", baselineExtra));
        System.out.println(
            "workers with their launcher's options and no AOT cache, a fresh one per round, alternately"
                + " the worker of this build and the "
                + other);
        compareWorkers(
            fleet,
            new Way("worker of this build", BenchFleet.CLASSPATH, List.of()),
            new Way(other, baseline, baselineExtra),
            jobs,
            slots,
            rounds,
            command);
        return;
      }
      if (alternate) {
        if (caches.worker == null) {
          throw new IllegalStateException("the first pass wrote no AOT cache for the worker");
        }
        System.out.println(
            "workers with their launcher's options, a fresh one per round, alternately from an AOT"
                + " cache trained by the first pass and without one");
        compareWorkers(
            fleet,
            new Way(
                "worker with its AOT cache",
                BenchFleet.CLASSPATH,
                List.of("-XX:AOTCache=" + caches.worker)),
            new Way("worker without a cache", BenchFleet.CLASSPATH, List.of()),
            jobs,
            slots,
            rounds,
            command);
        return;
      }
      Process worker;
      if (caches.worker != null) {
        System.out.println(
            "worker started from an AOT cache trained by the same first pass, with its launcher's"
                + " options (KUEUE_BENCH_PLAIN_WORKER=1: without one; =alternate: with and without, side by side)");
        worker = fleet.startWorker("bench", "-XX:AOTCache=" + caches.worker);
      } else {
        System.out.println("worker started with its launcher's options, without an AOT cache");
        worker = fleet.startWorker("bench");
      }
      fleet.awaitWorkers(1);
      // Unmeasured batches of the full size warm up both JVMs, as a server and worker that have
      // been running for a while are: after the first, rounds like the measured ones (xargs, then
      // Kueue) until the server's JIT compilers spent less than SETTLED_COMPILE_MS per job in each
      // of two rounds in a row, at most MAX_WARM_UP batches. C2 has about 20 s of CPU to compile
      // on this kind of machine; 12 batches back to back left it compiling for a third of the
      // server's CPU in the measured rounds. The first batch's time is printed as the figure for a
      // fresh fleet.
      List<Double> warmUps = new ArrayList<>();
      List<Double> warmUpCompiling = new ArrayList<>();
      List<Double> idle = null;
      do {
        if (warmUps.size() == 1) {
          // Single submissions, each on a connection of its own as `kueue cmd` makes them: measured
          // here, they also warm up what a running server does for its CLI users (the TLS
          // handshake is most of it), which no batch does.
          idle = idleLatencies(fleet, 100);
        }
        Duration compilingBefore = compilerCpu(fleet.server);
        if (!warmUps.isEmpty()) {
          // The same round as a measured one: while xargs runs the server idles, and C2 works off
          // its queue then; batches back to back alone left a wave of compiling for the measured
          // rounds.
          runXargs(jobs, slots, command);
        }
        warmUps.add(runKueue(fleet, jobs, command).seconds);
        warmUpCompiling.add(
            compilerCpu(fleet.server).minus(compilingBefore).toNanos() / 1e6 / jobs);
      } while (warmUps.size() < MAX_WARM_UP && !settled(warmUpCompiling));
      double warmUp = warmUps.getFirst();

      List<Double> xargs = new ArrayList<>();
      List<Double> kueue = new ArrayList<>();
      List<Double> latencies = new ArrayList<>();
      List<Double> handoffs = new ArrayList<>();
      List<Double> submits = new ArrayList<>();
      List<Double> replies = new ArrayList<>();
      List<Double> serverCpu = new ArrayList<>();
      List<Double> workerCpu = new ArrayList<>();
      List<Double> reaperCpu = new ArrayList<>();
      Map<String, Duration> threadsBefore = BenchFleet.cpuByThread(worker);
      Map<String, Duration> serverThreadsBefore = BenchFleet.cpuByThread(fleet.server);
      List<Double> xargsBusy = new ArrayList<>();
      List<Double> kueueBusy = new ArrayList<>();
      List<Double> serverSwitches = new ArrayList<>();
      List<Double> workerSwitches = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        long[] machineBefore = BenchFleet.machineTicks();
        xargs.add(runXargs(jobs, slots, command));
        xargsBusy.add(busyCores(machineBefore));
        machineBefore = BenchFleet.machineTicks();
        long serverSwitchesBefore = BenchFleet.contextSwitches(fleet.server);
        long workerSwitchesBefore = BenchFleet.contextSwitches(worker);
        Duration serverBefore = BenchFleet.cpuTime(fleet.server);
        Duration workerBefore = BenchFleet.cpuTime(worker);
        Duration reaperBefore = BenchFleet.reaperCpu(worker);
        Result result = runKueue(fleet, jobs, command);
        kueueBusy.add(busyCores(machineBefore));
        serverSwitches.add(
            (double) (BenchFleet.contextSwitches(fleet.server) - serverSwitchesBefore) / jobs);
        workerSwitches.add(
            (double) (BenchFleet.contextSwitches(worker) - workerSwitchesBefore) / jobs);
        serverCpu.add(BenchFleet.cpuTime(fleet.server).minus(serverBefore).toNanos() / 1e6 / jobs);
        workerCpu.add(BenchFleet.cpuTime(worker).minus(workerBefore).toNanos() / 1e6 / jobs);
        reaperCpu.add(BenchFleet.reaperCpu(worker).minus(reaperBefore).toNanos() / 1e6 / jobs);
        kueue.add(result.seconds);
        latencies.addAll(result.startLatenciesMs);
        handoffs.addAll(handoffs(result.jobs, slots));
        submits.add(result.submitMs);
        replies.add(result.replyMs);
      }
      Map<String, Duration> threadsAfter = BenchFleet.cpuByThread(worker);
      Map<String, Duration> serverThreadsAfter = BenchFleet.cpuByThread(fleet.server);
      double x = Stats.median(xargs);
      double k = Stats.median(kueue);
      System.out.printf(
          "%d jobs of '%s', %d at a time, median of %d rounds%n",
          jobs, String.join(" ", command), slots, rounds);
      System.out.printf("  xargs -P%d      %s   (rounds: %s)%n", slots, Stats.seconds(x), xargs);
      System.out.printf("  kueue          %s   (rounds: %s)%n", Stats.seconds(k), kueue);
      System.out.printf(
          "  fresh fleet    %s   the first of %d unmeasured warm-up batches (%s s; the server's JIT"
              + " compilers' CPU per job in each, from the second on over the round with xargs: %s ms)%n",
          Stats.seconds(warmUp), warmUps.size(), rounded(warmUps), rounded(warmUpCompiling));
      System.out.printf("  ratio          %.2fx   (limit 1.5x, goal 1.25x)%n", k / x);
      printIdeal(jobs, slots, command, x, k);
      System.out.printf(
          "  submit->start  p50 %.1f ms, p99 %.1f ms (server timestamps, batch queued at once)%n",
          Stats.percentile(latencies, 50), Stats.percentile(latencies, 99));
      printHandoffs(handoffs);
      System.out.printf(
          "  batch ends     submission acknowledged after %.0f ms, the answer to its wait %.0f ms after"
              + " the last job's end (medians; in the kueue time, xargs has neither)%n",
          Stats.median(submits), Stats.median(replies));
      System.out.printf(
          "  idle fleet     submit->start p50 %.1f ms, p99 %.1f ms (%d jobs of 'true' submitted one at a time, after the first warm-up batch)%n",
          Stats.percentile(idle, 50), Stats.percentile(idle, 99), idle.size());
      // Both JVMs share the machine's cores with the jobs themselves: their CPU per job is what
      // the scheduler adds on top of fork/exec.
      System.out.printf(
          "  CPU per job    server %.2f ms, worker %.2f ms, median of the rounds (its jobs not counted;"
              + " rounds: server %s, worker %s)%n",
          Stats.median(serverCpu), Stats.median(workerCpu), rounded(serverCpu), rounded(workerCpu));
      // Whether a run was bound by CPU: a machine that had cores idle while the batch ran waited on
      // something (a hand-off, a round trip), which less CPU per job would not shorten.
      System.out.printf(
          "  cores busy     xargs %.2f, kueue %.2f of %d, medians of the rounds, whole machine"
              + " (rounds: xargs %s, kueue %s)%n",
          Stats.median(xargsBusy),
          Stats.median(kueueBusy),
          Runtime.getRuntime().availableProcessors(),
          rounded(xargsBusy),
          rounded(kueueBusy));
      // Each switch is a thread that waited and was woken (or was preempted): a cost of its own on
      // a machine whose cores the jobs keep busy.
      System.out.printf(
          "  switches/job   server %.1f, worker %.1f context switches per job, medians of the rounds"
              + " (rounds: server %s, worker %s)%n",
          Stats.median(serverSwitches),
          Stats.median(workerSwitches),
          rounded(serverSwitches),
          rounded(workerSwitches));
      System.out.printf(
          "  worker's reaper shell %.3f ms per job (rounds: %s)%n",
          Stats.median(reaperCpu), rounded(reaperCpu));
      System.out.printf(
          "  worker CPU per job by thread, all rounds: %s%n",
          perJob(threadsBefore, threadsAfter, (long) jobs * rounds));
      // ForkJoinPool-1-* carry the connections' virtual threads (reading, decoding, writing).
      System.out.printf(
          "  server CPU per job by thread, all rounds: %s%n",
          perJob(serverThreadsBefore, serverThreadsAfter, (long) jobs * rounds));
    }
  }

  /** How many of the machine's cores were busy on average since the ticks were read. */
  private static double busyCores(long[] before) throws java.io.IOException {
    long[] after = BenchFleet.machineTicks();
    long total = after[1] - before[1];
    return total == 0
        ? 0
        : (double) (after[0] - before[0]) / total * Runtime.getRuntime().availableProcessors();
  }

  /** Each thread name's CPU time between the two snapshots per job, largest first, in ms. */
  private static String perJob(
      Map<String, Duration> before, Map<String, Duration> after, long jobs) {
    return after.entrySet().stream()
        .map(
            e ->
                Map.entry(
                    e.getKey(), e.getValue().minus(before.getOrDefault(e.getKey(), Duration.ZERO))))
        .filter(e -> !e.getValue().isZero())
        .sorted(Map.Entry.<String, Duration>comparingByValue().reversed())
        .map(e -> String.format("%s %.3f", e.getKey(), e.getValue().toNanos() / 1e6 / jobs))
        .collect(java.util.stream.Collectors.joining(", "));
  }

  /**
   * For a batch of {@code sleep S}, the time no scheduler can beat, and both runs against it: the
   * limit for it is 5 % over, and xargs shows what the machine's own process starts leave of that.
   */
  static void printIdeal(
      int jobs, int slots, List<String> command, double xargsSeconds, double kueueSeconds) {
    double seconds;
    try {
      if (command.size() != 2 || !command.getFirst().equals("sleep")) {
        return;
      }
      seconds = Double.parseDouble(command.get(1));
    } catch (NumberFormatException e) {
      return;
    }
    double ideal = Math.ceil((double) jobs / slots) * seconds;
    System.out.printf(
        "  ideal          %.3f s (%d rounds of %s s): xargs %+.1f %%, kueue %+.1f %% (limit: within 5 %%)%n",
        ideal,
        (int) Math.ceil((double) jobs / slots),
        command.get(1),
        100 * (xargsSeconds / ideal - 1),
        100 * (kueueSeconds / ideal - 1));
  }

  private static void printHandoffs(List<Double> handoffs) {
    System.out.printf(
        "  hand-off       a job's end to the next start on the freed slot: p50 %.1f ms, mean %.2f ms,"
            + " p90 %.1f ms (worker timestamps, 1 ms resolution)%n",
        Stats.percentile(handoffs, 50),
        handoffs.stream().mapToDouble(d -> d).average().orElse(0),
        Stats.percentile(handoffs, 90));
  }

  /**
   * What one worker JVM did in compareWorkers: its start, its first (cold) batch, the measured
   * batch.
   */
  private static final class Series {
    final List<Double> registered = new ArrayList<>();
    final List<Double> startCpu = new ArrayList<>();
    final List<Double> cold = new ArrayList<>();
    final List<Double> coldWorkerCpu = new ArrayList<>();
    final List<Double> xargs = new ArrayList<>();
    final List<Double> kueue = new ArrayList<>();
    final List<Double> ratios = new ArrayList<>();
    final List<Double> serverCpu = new ArrayList<>();
    final List<Double> workerCpu = new ArrayList<>();
    final List<Double> reaperCpu = new ArrayList<>();
    final List<Double> handoffs = new ArrayList<>();
  }

  /**
   * A fresh worker per round and way (e.g. with and without the cache), alternating (the order
   * swaps every round so that neither way always follows the other), all against the one server.
   * Each worker runs an unmeasured batch of up to 500 jobs first, as the single worker does, so the
   * measured batch compares warm workers; the start and the cold batch are printed as well, since
   * that is where a cache of loaded classes shows most.
   */
  private static void compareWorkers(
      BenchFleet fleet,
      Way first,
      Way second,
      int jobs,
      int slots,
      int rounds,
      List<String> command)
      throws Exception {
    Series firstSeries = new Series();
    Series secondSeries = new Series();
    int warmUp = Math.min(jobs, 500);
    for (int round = 0; round < rounds; round++) {
      for (boolean isFirst :
          round % 2 == 0 ? new boolean[] {true, false} : new boolean[] {false, true}) {
        Series series = isFirst ? firstSeries : secondSeries;
        Way way = isFirst ? first : second;
        long begin = System.nanoTime();
        Process worker =
            fleet.startWorkerFrom(
                way.classPath, (isFirst ? "a-" : "b-") + round, way.options.toArray(String[]::new));
        fleet.awaitWorkers(1);
        series.registered.add((System.nanoTime() - begin) / 1e9);
        Duration started = BenchFleet.cpuTime(worker);
        series.startCpu.add(started.toNanos() / 1e9);
        series.cold.add(runKueue(fleet, warmUp, command).seconds);
        series.coldWorkerCpu.add(
            BenchFleet.cpuTime(worker).minus(started).toNanos() / 1e6 / warmUp);

        double x = runXargs(jobs, slots, command);
        Duration serverBefore = BenchFleet.cpuTime(fleet.server);
        Duration workerBefore = BenchFleet.cpuTime(worker);
        Duration reaperBefore = BenchFleet.reaperCpu(worker);
        Result result = runKueue(fleet, jobs, command);
        series.serverCpu.add(
            BenchFleet.cpuTime(fleet.server).minus(serverBefore).toNanos() / 1e6 / jobs);
        series.workerCpu.add(BenchFleet.cpuTime(worker).minus(workerBefore).toNanos() / 1e6 / jobs);
        series.reaperCpu.add(
            BenchFleet.reaperCpu(worker).minus(reaperBefore).toNanos() / 1e6 / jobs);
        series.xargs.add(x);
        series.kueue.add(result.seconds);
        series.ratios.add(result.seconds / x);
        series.handoffs.addAll(handoffs(result.jobs, slots));
        BenchFleet.stop(worker);
        fleet.awaitNoWorkers();
      }
    }
    System.out.printf(
        "%d jobs of '%s', %d at a time, %d rounds each way%n",
        jobs, String.join(" ", command), slots, rounds);
    printSeries(first.label, firstSeries, warmUp);
    printSeries(second.label, secondSeries, warmUp);
    System.out.printf(
        "  kueue, first / second, medians: %.3f; worker CPU per job: %.3f%n",
        Stats.median(firstSeries.kueue) / Stats.median(secondSeries.kueue),
        Stats.median(firstSeries.workerCpu) / Stats.median(secondSeries.workerCpu));
  }

  /** One way to run the worker in compareWorkers. */
  private record Way(String label, String classPath, List<String> options) {}

  private static void printSeries(String title, Series series, int warmUp) {
    System.out.println(title);
    System.out.printf(
        "  start          %.2f s to registered, %.2f s CPU (rounds: %s; CPU %s)%n",
        Stats.median(series.registered),
        Stats.median(series.startCpu),
        rounded(series.registered),
        rounded(series.startCpu));
    System.out.printf(
        "  first %d jobs  %s, worker CPU per job %.2f ms (rounds: %s; CPU %s)%n",
        warmUp,
        Stats.seconds(Stats.median(series.cold)),
        Stats.median(series.coldWorkerCpu),
        rounded(series.cold),
        rounded(series.coldWorkerCpu));
    System.out.printf(
        "  xargs -P       %s   (rounds: %s)%n",
        Stats.seconds(Stats.median(series.xargs)), rounded(series.xargs));
    System.out.printf(
        "  kueue          %s   (rounds: %s)%n",
        Stats.seconds(Stats.median(series.kueue)), rounded(series.kueue));
    System.out.printf(
        "  ratio          %.2fx median of the rounds' ratios (rounds: %s; limit 1.5x, goal 1.25x)%n",
        Stats.median(series.ratios), rounded(series.ratios));
    printHandoffs(series.handoffs);
    System.out.printf(
        "  CPU per job    server %.2f ms, worker %.2f ms, medians (rounds: server %s, worker %s)%n",
        Stats.median(series.serverCpu),
        Stats.median(series.workerCpu),
        rounded(series.serverCpu),
        rounded(series.workerCpu));
    System.out.printf(
        "  worker's reaper shell %.3f ms per job (rounds: %s)%n",
        Stats.median(series.reaperCpu), rounded(series.reaperCpu));
  }

  private static List<String> rounded(List<Double> values) {
    return values.stream().map(v -> String.format("%.2f", v)).toList();
  }

  /**
   * xargs running exactly the argv Kueue's jobs run. With -I and a token the command does not
   * contain, xargs starts one process per input line and appends nothing to it: `-n1` would add the
   * line as an argument, and GNU `true 7` (unlike `true`) loads the locale to look for --help,
   * which made each process of the baseline twice as costly as Kueue's. Output goes to /dev/null;
   * Kueue captures it.
   */
  static double runXargs(int jobs, int slots, List<String> command) throws Exception {
    String token = "@kueue-bench-line@";
    if (command.stream().anyMatch(word -> word.contains(token))) {
      throw new IllegalArgumentException("the command contains " + token);
    }
    List<String> argv = new ArrayList<>(List.of("xargs", "-P" + slots, "-I" + token));
    argv.addAll(command);
    ProcessBuilder builder =
        new ProcessBuilder(argv)
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    StringBuilder lines = new StringBuilder(jobs * 5);
    for (int i = 1; i <= jobs; i++) {
      lines.append(i).append('\n');
    }
    byte[] input = lines.toString().getBytes(StandardCharsets.US_ASCII);
    long start = System.nanoTime();
    Process xargs = builder.start();
    try (var in = xargs.getOutputStream()) {
      in.write(input);
    }
    int exit = xargs.waitFor();
    double seconds = (System.nanoTime() - start) / 1e9;
    if (exit != 0) {
      throw new IllegalStateException("xargs failed with " + exit);
    }
    return seconds;
  }

  /**
   * Submit-to-start latency on an idle fleet: jobs of "true" submitted one at a time, each after
   * the previous one ended, from the server's own timestamps (stored submission, reported start).
   */
  static List<Double> idleLatencies(BenchFleet fleet, int count) throws Exception {
    List<Double> latencies = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      latencies.addAll(runKueue(fleet, 1, List.of("true")).startLatenciesMs);
    }
    return latencies;
  }

  /**
   * submitMs: until the batch was acknowledged (stored), before which no job starts; replyMs: from
   * the last job's end (server clock) to the waiting client's answer. Both in milliseconds; xargs
   * has neither.
   */
  record Result(
      double seconds,
      List<Double> startLatenciesMs,
      List<JobSummary> jobs,
      double submitMs,
      double replyMs) {}

  /**
   * With every job taking one slot and jobs waiting, each end frees a slot that the next start
   * takes: in time order, start number slots+i follows end number i. The gap between them is what
   * Kueue adds per job on the critical path (report, store, offer, spawn), measured by the worker's
   * clock.
   */
  static List<Double> handoffs(List<JobSummary> jobs, int slots) {
    List<java.time.Instant> starts = jobs.stream().map(JobSummary::started).sorted().toList();
    List<java.time.Instant> ends = jobs.stream().map(JobSummary::ended).sorted().toList();
    List<Double> gaps = new ArrayList<>();
    for (int i = 0; i + slots < starts.size(); i++) {
      gaps.add(Duration.between(ends.get(i), starts.get(i + slots)).toNanos() / 1e6);
    }
    return gaps;
  }

  record Caches(Path server, Path worker) {}

  /**
   * Runs the batch twice through a server and a worker that write AOT caches as they stop, like the
   * training install.sh does for kueue_server and kueue_worker; a cache not asked for, or not
   * written, is null.
   */
  private static Caches trainCaches(
      int jobs, int slots, List<String> command, boolean server, boolean worker) throws Exception {
    Path serverCache = server ? newCacheFile("kueue-bench-server") : null;
    Path workerCache = worker ? newCacheFile("kueue-bench-worker") : null;
    try (BenchFleet fleet = new BenchFleet("", "worker_max_parallel_jobs = " + slots)) {
      if (serverCache != null) {
        fleet.startServer("-Xmx1g", "-XX:AOTCacheOutput=" + serverCache);
      } else {
        fleet.startServer("-Xmx1g");
      }
      Process training =
          workerCache != null
              ? fleet.startWorker("training", "-XX:AOTCacheOutput=" + workerCache)
              : fleet.startWorker("training");
      fleet.awaitWorkers(1);
      runKueue(fleet, jobs, command);
      runKueue(fleet, jobs, command);
      BenchFleet.stop(training);
      BenchFleet.stop(fleet.server);
    }
    return new Caches(written(serverCache), written(workerCache));
  }

  private static Path newCacheFile(String prefix) throws java.io.IOException {
    Path cache = Files.createTempFile(prefix, ".aot");
    Files.delete(cache);
    return cache;
  }

  private static Path written(Path cache) {
    if (cache != null && Files.isRegularFile(cache)) {
      cache.toFile().deleteOnExit();
      return cache;
    }
    return null;
  }

  /** Server JIT compiler CPU per job below which a warm-up batch counts as steady. */
  private static final double SETTLED_COMPILE_MS = 0.05;

  private static final int MAX_WARM_UP = 20;

  private static boolean settled(List<Double> compilingPerJob) {
    int n = compilingPerJob.size();
    return n >= 3
        && compilingPerJob.get(n - 1) < SETTLED_COMPILE_MS
        && compilingPerJob.get(n - 2) < SETTLED_COMPILE_MS;
  }

  private static Duration compilerCpu(Process server) throws java.io.IOException {
    return BenchFleet.cpuByThread(server).entrySet().stream()
        .filter(e -> e.getKey().contains("CompilerThre"))
        .map(Map.Entry::getValue)
        .reduce(Duration.ZERO, Duration::plus);
  }

  static Result runKueue(BenchFleet fleet, int jobs, List<String> command) throws Exception {
    // As `kueue cmd --wait --array 1-JOBS COMMAND` sends it: one spec with the environment, one
    // entry per job.
    JobSpec shared =
        JobSpecBuilder.builder()
            .argv(command)
            .cwd(Path.of("").toAbsolutePath().toString())
            .env(System.getenv())
            .slots(1)
            .cpus(0)
            .ramMb(0)
            .globalResources(Map.of())
            .build();
    List<BatchEntry> entries = new ArrayList<>(jobs);
    for (int i = 1; i <= jobs; i++) {
      entries.add(new BatchEntry(i, null));
    }
    try (KueueClient client = fleet.client()) {
      long start = System.nanoTime();
      var submitted =
          (Message.BatchSubmitted) client.request(new Message.SubmitBatch(shared, entries));
      double submitMs = (System.nanoTime() - start) / 1e6;
      // As `kueue cmd --wait --array` waits: for the batch's summary alone.
      client.request(new Message.WaitBatch(submitted.batch()), Message.BatchEnded.class);
      java.time.Instant answered = java.time.Instant.now();
      double seconds = (System.nanoTime() - start) / 1e9;
      // Every job's timestamps, for the figures below, once the clock has stopped.
      var ended = (Message.JobsEnded) client.request(new Message.WaitJobs(submitted.ids()));
      List<Double> latencies = new ArrayList<>();
      for (JobSummary job : ended.jobs()) {
        if (!job.succeeded()) {
          throw new IllegalStateException("job " + job.id() + " did not succeed: " + job);
        }
        latencies.add(Duration.between(job.submitted(), job.started()).toNanos() / 1e6);
      }
      java.time.Instant lastEnd =
          ended.jobs().stream()
              .map(JobSummary::ended)
              .max(java.util.Comparator.naturalOrder())
              .orElseThrow();
      return new Result(
          seconds,
          latencies,
          ended.jobs(),
          submitMs,
          Duration.between(lastEnd, answered).toNanos() / 1e6);
    }
  }
}
