package kueue.bench.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kueue.core.Event;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.store.SqliteJobStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The SQLite store: the cost per job of persisting its whole life (queued, offered, started, ended
 * with output) when the server writes one transaction per batch of the given size.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class StoreBenchmark {
  private static final int JOBS_PER_OPERATION = 1000;

  @Param({"1", "100", "1000"})
  int jobsPerTransaction;

  private Path directory;
  private SqliteJobStore store;
  private long nextId;
  private JobSpec spec;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    directory = Files.createTempDirectory("kueue-store-bench");
    store = SqliteJobStore.open(directory);
    nextId = store.nextJobId();
    spec =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/tmp")
            .env(System.getenv())
            .slots(1)
            .cpus(1)
            .ramMb(10)
            .globalResources(Map.of())
            .build();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    store.close();
    try (Stream<Path> files = Files.walk(directory)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Benchmark
  @OperationsPerInvocation(JOBS_PER_OPERATION)
  public void persistJobLives() {
    Instant now = Instant.now();
    CapturedOutput output = new CapturedOutput("done\n", 0);
    for (int done = 0; done < JOBS_PER_OPERATION; done += jobsPerTransaction) {
      List<Event> events = new ArrayList<>(jobsPerTransaction * 4);
      long first = nextId;
      for (int i = 0; i < jobsPerTransaction; i++) {
        events.add(new Event.JobQueued(nextId++, spec, now));
      }
      for (long id = first; id < nextId; id++) {
        events.add(new Event.JobOffered(id, 1, 1, "w1", now));
        events.add(new Event.JobStarted(id, 1, now));
        events.add(
            new Event.JobEnded(
                id, 1, new JobOutcome(0, null, null, now, now), output, CapturedOutput.EMPTY, now));
      }
      store.persist(events);
    }
  }
}
