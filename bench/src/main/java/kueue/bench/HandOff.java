package kueue.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.model.BatchEntry;
import kueue.model.Dependency;
import kueue.model.DependencyKind;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobSummary;
import kueue.model.JobUpdate;
import kueue.protocol.Message;

/**
 * The hand-off from one job's end to the next job's start on a one-slot (simulated) worker, side by
 * side in one run: the next job is either the next pending one of a queue, or a job that depends on
 * the one that ended (a chain of afterok dependencies). Both include the store's write of the end,
 * the scheduler's turn and the offer; the chain adds releasing the dependent.
 *
 * <p>Usage: HandOff [jobs per round=300] [rounds=3]
 */
public final class HandOff {
  public static void main(String[] args) throws Exception {
    int jobs = args.length > 0 ? Integer.parseInt(args[0]) : 300;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    try (BenchFleet fleet = new BenchFleet("", "")) {
      fleet.startServer("-Xmx1g");
      SimulatedWorker worker = new SimulatedWorker(fleet.loadConfig().common(), "one-slot", 1);
      try (worker;
          KueueClient client = fleet.client()) {
        fleet.awaitWorkers(1);
        List<Double> queue = new ArrayList<>();
        List<Double> chain = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
          queue.addAll(queueRound(client, jobs));
          chain.addAll(chainRound(client, jobs));
        }
        double queueMedian = Stats.median(queue);
        double chainMedian = Stats.median(chain);
        System.out.printf(
            "hand-off, end of one job to start of the next, %d rounds of %d jobs each, alternating"
                + "%n",
            rounds, jobs);
        System.out.printf(
            "  next pending job       median %.2f ms  mean %.2f ms  p90 %.2f ms%n",
            queueMedian, mean(queue), Stats.percentile(queue, 90));
        System.out.printf(
            "  dependent (afterok)    median %.2f ms  mean %.2f ms  p90 %.2f ms%n",
            chainMedian, mean(chain), Stats.percentile(chain, 90));
        System.out.printf(
            "  dependent / next pending: %.2f (mean %.2f)%n",
            chainMedian / Math.max(queueMedian, 0.001), mean(chain) / Math.max(mean(queue), 0.001));
      }
    }
  }

  /** A batch submitted held and released at once: its jobs run one after another. */
  private static List<Double> queueRound(KueueClient client, int jobs) throws Exception {
    List<BatchEntry> entries = new ArrayList<>(jobs);
    for (long i = 0; i < jobs; i++) {
      entries.add(new BatchEntry(i, null));
    }
    long batch =
        client
            .request(
                new Message.SubmitBatch(spec().withHold(true), entries),
                Message.BatchSubmitted.class)
            .batch();
    client.request(
        new Message.UpdateJobs(List.of(), batch, JobUpdate.holding(false)),
        Message.JobsUpdated.class);
    return handOffs(client, batch, batch + jobs - 1);
  }

  /** A held first job and jobs each depending on the one before: they run one after another. */
  private static List<Double> chainRound(KueueClient client, int jobs) throws Exception {
    long first = submit(client, spec().withHold(true));
    long previous = first;
    for (int i = 1; i < jobs; i++) {
      previous =
          submit(
              client,
              spec().withDependencies(List.of(new Dependency(DependencyKind.AFTEROK, previous))));
    }
    client.request(
        new Message.UpdateJobs(List.of(first), null, JobUpdate.holding(false)),
        Message.JobsUpdated.class);
    return handOffs(client, first, previous);
  }

  /** Waits until jobs first to last have ended; the gaps between one's end and the next's start. */
  private static List<Double> handOffs(KueueClient client, long first, long last) throws Exception {
    List<JobSummary> ended;
    while (true) {
      List<JobSummary> all =
          client.request(new Message.ListJobs(0, List.of()), Message.JobList.class).jobs();
      ended =
          all.stream()
              .filter(job -> job.id() >= first && job.id() <= last && job.ended() != null)
              .sorted(Comparator.comparing(JobSummary::started))
              .toList();
      if (ended.size() == last - first + 1) {
        break;
      }
      Thread.sleep(20);
    }
    List<Double> gaps = new ArrayList<>();
    for (int i = 1; i < ended.size(); i++) {
      long micros =
          java.time.Duration.between(ended.get(i - 1).ended(), ended.get(i).started()).toNanos()
              / 1000;
      gaps.add(micros / 1000.0);
    }
    return gaps;
  }

  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(0);
  }

  private static JobSpec spec() {
    return JobSpecBuilder.builder()
        .argv(List.of("true"))
        .cwd("/tmp")
        .env(Map.of("PATH", "/usr/bin:/bin"))
        .slots(1)
        .cpus(0)
        .ramMb(0)
        .globalResources(Map.of())
        .build();
  }

  private static long submit(KueueClient client, JobSpec spec) throws Exception {
    return client
        .request(new Message.Submit(List.of(spec)), Message.Submitted.class)
        .ids()
        .getFirst();
  }
}
