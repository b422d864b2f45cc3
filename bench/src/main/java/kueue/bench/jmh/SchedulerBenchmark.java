package kueue.bench.jmh;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.core.Command;
import kueue.core.Decisions;
import kueue.core.Effect;
import kueue.core.Scheduler;
import kueue.core.SchedulerSettings;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The scheduling core alone: the cost of one job's whole life (submit, place, start, end) with a
 * given number of workers and jobs already waiting. The queued jobs need more than any worker has,
 * so they stay pending and show whether a big queue slows everybody down.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgs = {"-Xmx2g"})
public class SchedulerBenchmark {
  @Param({"1", "1000"})
  int workers;

  @Param({"0", "100000"})
  int waitingJobs;

  private Scheduler scheduler;
  private final Decisions out = new Decisions();
  private Instant now = Instant.parse("2026-01-01T00:00:00Z");
  private long requestId;
  private JobSpec spec;

  @Setup(Level.Trial)
  public void setUp() {
    scheduler =
        new Scheduler(
            new SchedulerSettings(
                1_000_000,
                Map.of(),
                Duration.ofSeconds(20),
                Duration.ofSeconds(30),
                Duration.ofDays(2),
                5),
            1);
    for (int i = 1; i <= workers; i++) {
      scheduler.handle(
          new Command.ConnectWorker(
              i, "w" + i, new WorkerCapacity(new Resources(8, 8, 16_000), 0, 16_000), List.of()),
          now,
          out);
    }
    spec =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/tmp")
            .env(Map.of("PATH", "/bin"))
            .slots(1)
            .cpus(1)
            .ramMb(10)
            .globalResources(Map.of())
            .build();
    JobSpec tooBig =
        JobSpecBuilder.builder()
            .argv(List.of("big"))
            .cwd("/tmp")
            .env(Map.of())
            .slots(1)
            .cpus(64)
            .ramMb(10)
            .globalResources(Map.of())
            .build();
    List<JobSpec> batch = new ArrayList<>();
    for (int i = 0; i < waitingJobs; i++) {
      batch.add(tooBig);
      if (batch.size() == 10_000) {
        scheduler.handle(new Command.Submit(requestId++, batch), now, out);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      scheduler.handle(new Command.Submit(requestId++, batch), now, out);
    }
    scheduler.place(now, out);
    out.clear();
  }

  @Benchmark
  public int oneJobFromSubmitToEnd() {
    now = now.plusMillis(1);
    scheduler.handle(new Command.Submit(requestId++, List.of(spec)), now, out);
    scheduler.place(now, out);
    int placed = 0;
    for (Effect effect : List.copyOf(out.effects())) {
      if (effect instanceof Effect.SendOffer offer) {
        scheduler.handle(
            new Command.MarkStarted(offer.workerId(), offer.jobId(), offer.attempt(), now),
            now,
            out);
        scheduler.handle(
            new Command.MarkEnded(
                offer.workerId(),
                offer.jobId(),
                offer.attempt(),
                new JobOutcome(0, null, null, now, now),
                CapturedOutput.EMPTY,
                CapturedOutput.EMPTY),
            now,
            out);
        placed++;
      }
    }
    int decided = out.events().size();
    out.clear();
    if (placed != 1) {
      throw new IllegalStateException("expected one offer, got " + placed);
    }
    return decided;
  }
}
