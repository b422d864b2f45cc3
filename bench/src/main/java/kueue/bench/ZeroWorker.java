package kueue.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.config.KueueConfig;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;

/**
 * The server's CPU time per scheduled job, measured with simulated workers that complete every job
 * instantly (HyperQueue's "zero worker" idea). Reads the server process's CPU time from /proc
 * before and after the batch.
 *
 * <p>The first rounds include the JIT compiling the server's code (a fresh JVM spends more CPU
 * compiling than scheduling); the last round is the steady state a long-running server is in.
 *
 * <p>Usage: ZeroWorker [jobs=20000] [workers=4] [rounds=3]
 */
public final class ZeroWorker {
  public static void main(String[] args) throws Exception {
    int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
    int workerCount = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    try (BenchFleet fleet = new BenchFleet("global_max_parallel_jobs = 100000", "")) {
      fleet.startServer("-Xmx1g");
      KueueConfig config = fleet.loadConfig();
      List<SimulatedWorker> workers = new ArrayList<>();
      for (int i = 0; i < workerCount; i++) {
        workers.add(new SimulatedWorker(config.common(), "zero-" + i, 64));
      }
      fleet.awaitWorkers(workerCount);
      run(fleet, Math.min(jobs, 5000)); // warm-up
      System.out.printf("%d jobs through %d zero workers, %d rounds%n", jobs, workerCount, rounds);
      for (int round = 1; round <= rounds; round++) {
        Duration cpuBefore = BenchFleet.cpuTime(fleet.server);
        long start = System.nanoTime();
        run(fleet, jobs);
        double seconds = (System.nanoTime() - start) / 1e9;
        Duration cpu = BenchFleet.cpuTime(fleet.server).minus(cpuBefore);
        System.out.printf(
            "  round %d: wall time %s (%.0f jobs/s), server CPU per job %.3f ms   (goal 0.1 ms)%n",
            round, Stats.seconds(seconds), jobs / seconds, cpu.toNanos() / 1e6 / jobs);
      }
      workers.forEach(SimulatedWorker::close);
    }
  }

  private static void run(BenchFleet fleet, int jobs) throws Exception {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/tmp")
            .env(Map.of("PATH", "/usr/bin:/bin"))
            .slots(1)
            .cpus(0)
            .ramMb(0)
            .globalResources(Map.of())
            .build();
    try (KueueClient client = fleet.client()) {
      for (int done = 0; done < jobs; done += 10_000) {
        List<JobSpec> specs = java.util.Collections.nCopies(Math.min(10_000, jobs - done), spec);
        var submitted = (Message.Submitted) client.request(new Message.Submit(specs));
        client.request(new Message.WaitJobs(submitted.ids()));
      }
    }
  }
}
