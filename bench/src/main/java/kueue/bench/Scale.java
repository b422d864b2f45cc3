package kueue.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.config.KueueConfig;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;

/**
 * One server holding many queued jobs and many connected (simulated, idle) workers: submission
 * latency with an empty and a full queue, the default list-jobs view, the server's heap, and how
 * long a restart over the full database takes until the server answers again.
 *
 * <p>Usage: Scale [jobs=1000000] [workers=1000] [heap=1g]
 */
public final class Scale {
  public static void main(String[] args) throws Exception {
    int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int workerCount = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
    String heap = args.length > 2 ? args[2] : "1g";
    try (BenchFleet fleet = new BenchFleet("global_max_parallel_jobs = 100", "")) {
      // This first server also trains an ahead-of-time cache, as install.sh does for kueue_server,
      // so that restarts can be measured both with it (as installed) and without.
      Path cache = fleet.dir.resolve("server.aot");
      fleet.startServer("-Xmx" + heap, "-XX:AOTCacheOutput=" + cache);
      KueueConfig config = fleet.loadConfig();
      List<SimulatedWorker> workers = new ArrayList<>();
      for (int i = 0; i < workerCount; i++) {
        // No job slots: the workers stay connected and idle, the jobs stay queued.
        workers.add(new SimulatedWorker(config.common(), "idle-" + i, 0));
      }
      fleet.awaitWorkers(workerCount);
      JobSpec one =
          JobSpecBuilder.builder()
              .argv(List.of("true"))
              .cwd("/tmp")
              .env(Map.of("PATH", "/usr/bin:/bin"))
              .slots(1)
              .cpus(1)
              .ramMb(0)
              .globalResources(Map.of())
              .build();
      try (KueueClient client = fleet.client()) {
        double emptyLatency = submitLatencyMs(client, one);
        long start = System.nanoTime();
        for (int queued = 0; queued < jobs; queued += 10_000) {
          client.request(
              new Message.Submit(Collections.nCopies(Math.min(10_000, jobs - queued), one)));
        }
        double fillSeconds = (System.nanoTime() - start) / 1e9;
        double fullLatency = submitLatencyMs(client, one);
        List<Double> listTimes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          long t = System.nanoTime();
          client.request(new Message.ListJobs(40, List.of()));
          listTimes.add((System.nanoTime() - t) / 1e6);
        }
        long rss = BenchFleet.rssMib(fleet.server);
        String heapUsed = String.format("%.0f MiB", liveHeapBytes(fleet.server) / 1048576.0);
        System.out.printf(
            "%d queued jobs, %d connected workers, server -Xmx%s%n", jobs, workerCount, heap);
        System.out.printf(
            "  filling the queue        %s (%.0f jobs/s)%n",
            Stats.seconds(fillSeconds), jobs / fillSeconds);
        System.out.printf("  submit latency, empty    %.2f ms (median)%n", emptyLatency);
        System.out.printf(
            "  submit latency, full     %.2f ms (median), ratio %.2fx (limit 1.5x)%n",
            fullLatency, fullLatency / emptyLatency);
        System.out.printf(
            "  list-jobs default view   %.1f ms (median of 20; limit 200 ms)%n",
            Stats.median(listTimes));
        System.out.printf(
            "  server heap after GC     %s; RSS %d MiB (goal: heap <= 1 GiB)%n", heapUsed, rss);
        dashboardPages(client);
        listEverything(fleet);
      }
      workers.forEach(SimulatedWorker::close);
      // SIGTERM: the server closes the database cleanly (and writes its cache).
      fleet.server.destroy();
      fleet.server.waitFor();
      String withCache = Files.isRegularFile(cache) ? "-XX:AOTCache=" + cache : null;
      double[] plain = restart(fleet, heap, "server-restart-plain", one, null);
      print("restart, no cache", plain, "limit 5 s");
      fleet.server.destroy();
      fleet.server.waitFor();
      if (withCache == null) {
        System.out.println("  (no AOT cache was written; the restarts below run without one)");
      }
      double[] clean = restart(fleet, heap, "server-restart", one, withCache);
      print("restart, AOT cache", clean, "limit 5 s; as installed");
      // SIGKILL: the write-ahead log is left behind. The machine kept running, so the whole-file
      // check runs while the server serves, as after SIGTERM (after a machine crash it runs before
      // the first write; see docs/RECOVERY.md).
      fleet.server.destroyForcibly();
      fleet.server.waitFor();
      double[] killed = restart(fleet, heap, "server-after-kill", one, withCache);
      print("same after SIGKILL", killed, "AOT cache");
    }
  }

  /**
   * Starts the server again over the full database: seconds until it answers a request and until it
   * has accepted (stored) a submission, both from the start of the process, and the CPU time the
   * server used until it answered (less dependent on other load than the wall times).
   */
  private static void print(String what, double[] restart, String note) {
    System.out.printf(
        "  %-24s %.2f s until serving (%s; server CPU time by then %.2f s);"
            + " a submission accepted after %.2f s%n",
        what, restart[0], note, restart[2], restart[1]);
  }

  private static double[] restart(
      BenchFleet fleet, String heap, String log, JobSpec spec, String cacheOption)
      throws Exception {
    long start = System.nanoTime();
    fleet.server =
        cacheOption == null
            ? fleet.start(log, "kueue.server.ServerMain", "-Xmx" + heap)
            : fleet.start(log, "kueue.server.ServerMain", "-Xmx" + heap, cacheOption);
    Duration serving = fleet.awaitServer();
    Duration cpu = BenchFleet.cpuTime(fleet.server);
    try (KueueClient client = fleet.client()) {
      client.request(new Message.Submit(List.of(spec)));
    }
    return new double[] {
      serving.toNanos() / 1e9, (System.nanoTime() - start) / 1e9, cpu.toMillis() / 1e3
    };
  }

  private static double submitLatencyMs(KueueClient client, JobSpec spec) throws Exception {
    List<Double> times = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      long t = System.nanoTime();
      client.request(new Message.Submit(List.of(spec)));
      times.add((System.nanoTime() - t) / 1e6);
    }
    return Stats.median(times.subList(50, times.size()));
  }

  /**
   * {@code kueue list-jobs -n 0 --json} over the whole queue, as a user runs it (its own process,
   * output read and counted, not kept), while the server's live heap is sampled every half second:
   * a listing sent in pages keeps it where it was, one built whole would add every job's summary to
   * it. Live means what a class histogram finds after its own full GC: "used" read after a GC in a
   * second jcmd call would also count what the busy server allocated in between.
   */
  private static void listEverything(BenchFleet fleet) throws Exception {
    long before = liveHeapBytes(fleet.server);
    String javaCommand = ProcessHandle.current().info().command().orElse("java");
    Process cli =
        new ProcessBuilder(
                javaCommand,
                "-Xmx256m",
                "-cp",
                BenchFleet.CLASSPATH,
                "kueue.client.KueueCli",
                "-c",
                fleet.config.toString(),
                "list-jobs",
                "-n",
                "0",
                "--json")
            .redirectError(fleet.dir.resolve("list-everything.err").toFile())
            .start();
    long start = System.nanoTime();
    long[] counted = new long[2]; // bytes, and jobs (one "command" per job)
    Thread reader =
        Thread.ofPlatform()
            .start(
                () -> {
                  byte[] marker =
                      "\"command\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                  int matched = 0;
                  byte[] buffer = new byte[1 << 16];
                  try (var in = cli.getInputStream()) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                      counted[0] += n;
                      for (int i = 0; i < n; i++) {
                        matched =
                            buffer[i] == marker[matched]
                                ? matched + 1
                                : buffer[i] == marker[0] ? 1 : 0;
                        if (matched == marker.length) {
                          counted[1]++;
                          matched = 0;
                        }
                      }
                    }
                  } catch (java.io.IOException e) {
                    // the listing ended
                  }
                });
    long most = before;
    int samples = 0;
    while (cli.isAlive()) {
      most = Math.max(most, liveHeapBytes(fleet.server));
      samples++;
      Thread.sleep(500);
    }
    reader.join();
    double seconds = (System.nanoTime() - start) / 1e9;
    long after = liveHeapBytes(fleet.server);
    System.out.printf(
        "  list-jobs -n 0 --json    exit %d, %d jobs, %d MB of JSON in %s; server's live heap"
            + " %.1f MiB before, at most %.1f MiB in %d samples while listing (%+.1f MiB),"
            + " %.1f MiB after%n",
        cli.exitValue(),
        counted[1],
        counted[0] / 1_000_000,
        Stats.seconds(seconds),
        before / 1048576.0,
        most / 1048576.0,
        samples,
        (most - before) / 1048576.0,
        after / 1048576.0);
  }

  /** Bytes of live objects: the total of a class histogram, which runs a full GC first. */
  private static long liveHeapBytes(Process server) throws Exception {
    String jcmd =
        ProcessHandle.current().info().command().orElseThrow().replaceAll("java$", "jcmd");
    String histogram = run(jcmd, String.valueOf(server.pid()), "GC.class_histogram");
    return histogram
        .lines()
        .filter(line -> line.strip().startsWith("Total"))
        .map(line -> Long.parseLong(line.strip().split("\\s+")[2]))
        .findFirst()
        .orElse(-1L);
  }

  /**
   * The requests behind the dashboard's jobs table (find_jobs, a page of 50) over the full queue:
   * the first page in the table's orders and filters, median of 5 each.
   */
  private static void dashboardPages(KueueClient client) throws Exception {
    Map<String, kueue.model.JobQuery> queries = new java.util.LinkedHashMap<>();
    queries.put(
        "newest first", new kueue.model.JobQuery(List.of(), null, null, null, true, null, 50));
    queries.put(
        "sorted by state",
        new kueue.model.JobQuery(List.of(), null, null, null, true, null, 50, true, null));
    queries.put(
        "pending only",
        new kueue.model.JobQuery(
            List.of(kueue.model.JobFilter.PENDING), null, null, null, true, null, 50));
    queries.put(
        "failed only (none)",
        new kueue.model.JobQuery(
            List.of(kueue.model.JobFilter.FAILED), null, null, null, true, null, 50));
    queries.put(
        "text matching every job",
        new kueue.model.JobQuery(List.of(), null, null, "true", true, null, 50));
    queries.put(
        "text matching no job",
        new kueue.model.JobQuery(List.of(), null, null, "no-such-text", true, null, 50));
    for (var query : queries.entrySet()) {
      List<Double> times = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        long t = System.nanoTime();
        client.request(new Message.FindJobs(query.getValue()));
        times.add((System.nanoTime() - t) / 1e6);
      }
      System.out.printf(
          "  dashboard page, %-23s %.1f ms (median of 5; goal 300 ms)%n",
          query.getKey(), Stats.median(times));
    }
  }

  private static String run(String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes());
    process.waitFor();
    return out;
  }
}
