package kueue.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import kueue.client.KueueClient;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobSummary;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import kueue.protocol.Message;

/**
 * Live output on loopback: how long a line a job writes takes to reach a follower (median and p99;
 * the job prints its wall-clock time, the follower compares it with its own on arrival), and how
 * long a job printing 100 MB runs when nobody follows, when a follower reads as fast as it can, and
 * when a follower asks once and then never again (a stalled terminal).
 *
 * <p>Usage: {@code bench/follow-latency [LINES=500]}.
 */
public final class FollowLatency {
  private static final String BIG_JOB =
      "yes 0123456789012345678901234567890123456789012345678901234567890123456789"
          + " | head -c 100000000";

  private FollowLatency() {}

  public static void main(String[] args) throws Exception {
    int lines = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    try (BenchFleet fleet = new BenchFleet("", "worker_max_parallel_jobs = 4")) {
      fleet.startServer();
      fleet.startWorker("w");
      fleet.awaitWorkers(1);
      try (KueueClient client = fleet.client()) {
        // As kueue log -f asks (with the reasons a pending job waits), and without them, side by
        // side: asking for reasons makes the server watch the connection while it waits.
        for (int round = 1; round <= 2; round++) {
          latency(fleet, client, lines, true);
          latency(fleet, client, lines, false);
        }
        for (int round = 1; round <= 3; round++) {
          System.out.printf(
              "100 MB job, round %d: nobody follows %d ms, followed by a fast reader %d ms,"
                  + " followed by a stalled reader %d ms%n",
              round,
              bigJob(fleet, client, Reader.NONE).toMillis(),
              bigJob(fleet, client, Reader.FAST).toMillis(),
              bigJob(fleet, client, Reader.STALLED).toMillis());
        }
      }
    }
  }

  private static JobSpec spec(BenchFleet fleet, String script) {
    return JobSpecBuilder.builder()
        .argv(List.of("sh", "-c", script))
        .cwd(fleet.dir.toString())
        .env(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin"))
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

  private static void latency(BenchFleet fleet, KueueClient client, int lines, boolean reasons)
      throws Exception {
    long job =
        submit(
            client,
            spec(
                fleet,
                "i=0; while [ $i -lt "
                    + lines
                    + " ]; do date +%s%N; sleep 0.02; i=$((i+1)); done"));
    List<Long> micros = new ArrayList<>();
    long next = 0;
    Integer attempt = null;
    StringBuilder partial = new StringBuilder();
    boolean done = false;
    while (!done) {
      Message.OutputRead read =
          client.request(
              new Message.ReadOutput(
                  List.of(new OutputCursor(job, attempt, next, null)), true, reasons ? true : null),
              Message.OutputRead.class,
              reason -> {});
      Instant arrived = Instant.now();
      long arrivedNanos = arrived.getEpochSecond() * 1_000_000_000L + arrived.getNano();
      for (OutputPart part : read.parts()) {
        if (part.attempt() > 0) {
          attempt = part.attempt();
        }
        for (OutputPiece piece : part.pieces()) {
          partial.append(piece.text());
        }
        next = part.stdoutNext();
        done = part.complete();
      }
      int newline;
      while ((newline = partial.indexOf("\n")) >= 0) {
        String line = partial.substring(0, newline).strip();
        partial.delete(0, newline + 1);
        if (!line.isEmpty()) {
          micros.add((arrivedNanos - Long.parseLong(line)) / 1000);
        }
      }
    }
    // The first lines include the JIT compiling the path.
    List<Long> measured =
        new ArrayList<>(micros.subList(Math.min(50, micros.size()), micros.size()));
    Collections.sort(measured);
    System.out.printf(
        "follow latency%s over %d lines (first 50 not counted): median %.2f ms, p99 %.2f ms,"
            + " max %.2f ms (limit: 100 ms on a LAN)%n",
        reasons ? " (as kueue log -f asks, with reasons)" : " (without reasons)",
        measured.size(),
        measured.get(measured.size() / 2) / 1000.0,
        measured.get((int) Math.min(measured.size() - 1, Math.ceil(measured.size() * 0.99) - 1))
            / 1000.0,
        measured.getLast() / 1000.0);
  }

  private enum Reader {
    NONE,
    FAST,
    STALLED
  }

  /** The job's run time by the worker's clock. */
  private static Duration bigJob(BenchFleet fleet, KueueClient client, Reader reader)
      throws Exception {
    long job = submit(client, spec(fleet, BIG_JOB));
    if (reader == Reader.FAST) {
      long next = 0;
      Integer attempt = null;
      boolean done = false;
      while (!done) {
        Message.OutputRead read =
            client.request(
                new Message.ReadOutput(List.of(new OutputCursor(job, attempt, next, null)), true),
                Message.OutputRead.class);
        for (OutputPart part : read.parts()) {
          if (part.attempt() > 0) {
            attempt = part.attempt();
          }
          next = part.stdoutNext();
          done = part.complete();
        }
      }
    } else if (reader == Reader.STALLED) {
      // One answer, then this follower never asks again.
      client.request(
          new Message.ReadOutput(List.of(new OutputCursor(job, null, 0L, null)), true),
          Message.OutputRead.class);
    }
    JobSummary ended =
        client
            .request(new Message.WaitJobs(List.of(job)), Message.JobsEnded.class)
            .jobs()
            .getFirst();
    return Duration.between(ended.started(), ended.ended());
  }
}
