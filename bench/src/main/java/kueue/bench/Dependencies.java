package kueue.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.model.BatchEntry;
import kueue.model.Dependency;
import kueue.model.DependencyKind;
import kueue.model.JobFilter;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobStats;
import kueue.model.JobUpdate;
import kueue.protocol.Message;

/**
 * The scale goals of dependencies on a real server: a batch of dependents of one job released when
 * it ends, and a chain of dependents canceled when its first job is canceled. The dependents take
 * two job slots on a one-slot (simulated) worker, so that they stay queued once released and only
 * the release is measured.
 *
 * <p>Usage: Dependencies [fan-out=100000] [chain=10000]
 */
public final class Dependencies {
  public static void main(String[] args) throws Exception {
    int fanOut = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int chain = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    try (BenchFleet fleet = new BenchFleet("", "")) {
      fleet.startServer("-Xmx1g");
      // One slot: the parent runs; the dependents (two slots each) stay queued once released.
      SimulatedWorker worker = new SimulatedWorker(fleet.loadConfig().common(), "one-slot", 1);
      try (worker;
          KueueClient client = fleet.client()) {
        fleet.awaitWorkers(1);
        JobSpec parentSpec = spec(1).withHold(true);
        long parent = submit(client, parentSpec);
        JobSpec dependent =
            spec(2).withDependencies(List.of(new Dependency(DependencyKind.AFTEROK, parent)));
        List<BatchEntry> entries = new ArrayList<>(fanOut);
        for (long i = 0; i < fanOut; i++) {
          entries.add(new BatchEntry(i, null));
        }
        long t = System.nanoTime();
        client.request(new Message.SubmitBatch(spec(2), entries), Message.BatchSubmitted.class);
        double plainSubmitSeconds = (System.nanoTime() - t) / 1e9;
        t = System.nanoTime();
        client.request(new Message.SubmitBatch(dependent, entries), Message.BatchSubmitted.class);
        double submitSeconds = (System.nanoTime() - t) / 1e9;

        long releaseStart = System.nanoTime();
        client.request(
            new Message.UpdateJobs(List.of(parent), null, JobUpdate.holding(false)),
            Message.JobsUpdated.class);
        long released;
        while (true) {
          JobStats stats = stats(client);
          if (stats.waiting() == 0 && stats.pending() >= 2L * fanOut) {
            released = System.nanoTime();
            break;
          }
          Thread.sleep(5);
        }
        long parentEnded =
            client
                .request(new Message.ShowJob(parent), Message.JobDetails.class)
                .job()
                .summary()
                .ended()
                .toEpochMilli();
        long releasedAt = System.currentTimeMillis() - (System.nanoTime() - released) / 1_000_000;

        long root = submit(client, spec(2));
        long previous = root;
        t = System.nanoTime();
        for (int i = 0; i < chain; i++) {
          previous =
              submit(
                  client,
                  spec(2)
                      .withDependencies(List.of(new Dependency(DependencyKind.AFTEROK, previous))));
        }
        double chainSubmitSeconds = (System.nanoTime() - t) / 1e9;
        long canceledBefore = stats(client).canceled();
        t = System.nanoTime();
        client.request(new Message.RemoveJob(root, false), Message.JobRemoved.class);
        double cancelSeconds = (System.nanoTime() - t) / 1e9;
        long canceled = stats(client).canceled() - canceledBefore;

        System.out.printf(
            "%,d dependents of one job (submitted as one batch in %s; the same batch without the"
                + " dependency, submitted before it: %s)%n",
            fanOut, Stats.seconds(submitSeconds), Stats.seconds(plainSubmitSeconds));
        System.out.printf(
            "  released after its end   %d ms (release request to all released: %s; goal 2 s)%n",
            releasedAt - parentEnded, Stats.seconds((released - releaseStart) / 1e9));
        System.out.printf(
            "chain of %,d dependents (submitted one by one in %s, %.0f/s)%n",
            chain, Stats.seconds(chainSubmitSeconds), chain / chainSubmitSeconds);
        System.out.printf(
            "  canceled with its first job   %s until the answer, %,d jobs canceled (goal 2 s)%n",
            Stats.seconds(cancelSeconds), canceled);
      }
    }
  }

  private static JobSpec spec(int slots) {
    return JobSpecBuilder.builder()
        .argv(List.of("true"))
        .cwd("/tmp")
        .env(Map.of("PATH", "/usr/bin:/bin"))
        .slots(slots)
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

  private static JobStats stats(KueueClient client) throws Exception {
    return client
        .request(new Message.ListJobs(1, List.of(JobFilter.WAITING)), Message.JobList.class)
        .stats();
  }
}
