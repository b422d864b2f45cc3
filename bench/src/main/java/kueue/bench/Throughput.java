package kueue.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.model.JobSpec;
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
    List<String> command = args.length > 3 ? List.of(args).subList(3, args.length) : List.of("true");

    Path cache = System.getenv("KUEUE_BENCH_PLAIN_SERVER") == null ? trainServerCache(jobs, slots, command) : null;
    try (BenchFleet fleet = new BenchFleet("", "worker_max_parallel_jobs = " + slots)) {
      if (cache != null) {
        System.out.println("server started from an AOT cache trained by a first pass, as install.sh's"
            + " launcher runs it (KUEUE_BENCH_PLAIN_SERVER=1: without one)");
        fleet.startServer("-Xmx1g", "-XX:AOTCache=" + cache);
      } else {
        fleet.startServer("-Xmx1g");
      }
      Process worker = fleet.startWorker("bench");
      fleet.awaitWorkers(1);
      // One unmeasured round warms up both JVMs.
      runKueue(fleet, Math.min(jobs, 500), command);

      List<Double> xargs = new ArrayList<>();
      List<Double> kueue = new ArrayList<>();
      List<Double> latencies = new ArrayList<>();
      List<Double> handoffs = new ArrayList<>();
      List<Double> serverCpu = new ArrayList<>();
      List<Double> workerCpu = new ArrayList<>();
      for (int round = 0; round < rounds; round++) {
        xargs.add(runXargs(jobs, slots, command));
        Duration serverBefore = BenchFleet.cpuTime(fleet.server);
        Duration workerBefore = BenchFleet.cpuTime(worker);
        Result result = runKueue(fleet, jobs, command);
        serverCpu.add(BenchFleet.cpuTime(fleet.server).minus(serverBefore).toNanos() / 1e6 / jobs);
        workerCpu.add(BenchFleet.cpuTime(worker).minus(workerBefore).toNanos() / 1e6 / jobs);
        kueue.add(result.seconds);
        latencies.addAll(result.startLatenciesMs);
        handoffs.addAll(handoffs(result.jobs, slots));
      }
      double x = Stats.median(xargs);
      double k = Stats.median(kueue);
      System.out.printf("%d jobs of '%s', %d at a time, median of %d rounds%n", jobs, String.join(" ", command), slots, rounds);
      System.out.printf("  xargs -P%d      %s   (rounds: %s)%n", slots, Stats.seconds(x), xargs);
      System.out.printf("  kueue          %s   (rounds: %s)%n", Stats.seconds(k), kueue);
      System.out.printf("  ratio          %.2fx   (limit 1.5x, goal 1.25x)%n", k / x);
      System.out.printf("  submit->start  p50 %.1f ms, p99 %.1f ms (server timestamps, batch queued at once)%n",
          Stats.percentile(latencies, 50), Stats.percentile(latencies, 99));
      System.out.printf("  hand-off       a job's end to the next start on the freed slot: p50 %.1f ms, mean %.2f ms,"
          + " p90 %.1f ms (worker timestamps, 1 ms resolution)%n",
          Stats.percentile(handoffs, 50), handoffs.stream().mapToDouble(d -> d).average().orElse(0),
          Stats.percentile(handoffs, 90));
      List<Double> idle = idleLatencies(fleet, 100);
      System.out.printf("  idle fleet     submit->start p50 %.1f ms, p99 %.1f ms (%d jobs of 'true' submitted one at a time)%n",
          Stats.percentile(idle, 50), Stats.percentile(idle, 99), idle.size());
      // Both JVMs share the machine's cores with the jobs themselves: their CPU per job is what
      // the scheduler adds on top of fork/exec.
      System.out.printf("  CPU per job    server %.2f ms, worker %.2f ms, median of the rounds (its jobs not counted;"
          + " rounds: server %s, worker %s)%n", Stats.median(serverCpu), Stats.median(workerCpu),
          rounded(serverCpu), rounded(workerCpu));
    }
  }

  private static List<String> rounded(List<Double> values) {
    return values.stream().map(v -> String.format("%.2f", v)).toList();
  }

  static double runXargs(int jobs, int slots, List<String> command) throws Exception {
    String quoted = String.join(" ", command.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
    // seq feeds one dummy argument per job; -n1 runs the command once per line.
    ProcessBuilder builder = new ProcessBuilder("sh", "-c",
        "seq " + jobs + " | xargs -P" + slots + " -n1 sh -c '" + quoted.replace("'", "'\\''") + "' sh >/dev/null");
    if (command.equals(List.of("true"))) {
      builder = new ProcessBuilder("sh", "-c", "seq " + jobs + " | xargs -P" + slots + " -n1 true");
    }
    long start = System.nanoTime();
    int exit = builder.inheritIO().start().waitFor();
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

  record Result(double seconds, List<Double> startLatenciesMs, List<JobSummary> jobs) {}

  /**
   * With every job taking one slot and jobs waiting, each end frees a slot that the next start
   * takes: in time order, start number slots+i follows end number i. The gap between them is what
   * Kueue adds per job on the critical path (report, store, offer, spawn), measured by the
   * worker's clock.
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

  /**
   * Runs the batch twice through a server that writes an AOT cache as it stops, like the training
   * install.sh does for kueue_server; returns the cache, or null when none was written.
   */
  private static Path trainServerCache(int jobs, int slots, List<String> command) throws Exception {
    Path cache = Files.createTempFile("kueue-bench-server", ".aot");
    Files.delete(cache);
    try (BenchFleet fleet = new BenchFleet("", "worker_max_parallel_jobs = " + slots)) {
      fleet.startServer("-Xmx1g", "-XX:AOTCacheOutput=" + cache);
      fleet.startWorker("training");
      fleet.awaitWorkers(1);
      runKueue(fleet, jobs, command);
      runKueue(fleet, jobs, command);
      fleet.server.destroy();
      fleet.server.waitFor(120, java.util.concurrent.TimeUnit.SECONDS);
    }
    if (Files.isRegularFile(cache)) {
      cache.toFile().deleteOnExit();
      return cache;
    }
    return null;
  }

  static Result runKueue(BenchFleet fleet, int jobs, List<String> command) throws Exception {
    Map<String, String> env = System.getenv();
    String cwd = Path.of("").toAbsolutePath().toString();
    List<JobSpec> specs = new ArrayList<>(jobs);
    for (int i = 0; i < jobs; i++) {
      specs.add(new JobSpec(command, cwd, env, 1, 0, 0, Map.of(), null, null));
    }
    try (KueueClient client = fleet.client()) {
      long start = System.nanoTime();
      var submitted = (Message.Submitted) client.request(new Message.Submit(specs));
      var ended = (Message.JobsEnded) client.request(new Message.WaitJobs(submitted.ids()));
      double seconds = (System.nanoTime() - start) / 1e9;
      List<Double> latencies = new ArrayList<>();
      for (JobSummary job : ended.jobs()) {
        if (!job.succeeded()) {
          throw new IllegalStateException("job " + job.id() + " did not succeed: " + job);
        }
        latencies.add(Duration.between(job.submitted(), job.started()).toNanos() / 1e6);
      }
      return new Result(seconds, latencies, ended.jobs());
    }
  }
}
