package kueue.store;

import static kueue.store.Jobs.at;
import static kueue.store.Jobs.offered;
import static kueue.store.Jobs.queued;
import static kueue.store.Jobs.started;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import kueue.core.Event;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers on many threads while one thread persists: every read sees whole batches, never half of
 * one.
 */
class ConcurrentReadsTest {

  private static final int GROUP = 5;
  private static final int BATCHES = 300;

  @TempDir Path dataDirectory;

  /**
   * Batch b queues jobs 5b+1..5b+5 and starts the previous batch's five, so any committed state has
   * a multiple of five jobs, a multiple of five running, and ids without gaps.
   */
  private static List<Event> batch(int b) {
    List<Event> events = new ArrayList<>();
    for (long id = GROUP * b + 1L; id <= GROUP * (b + 1L); id++) {
      events.add(queued(id, b));
    }
    if (b > 0) {
      for (long id = GROUP * (b - 1L) + 1; id <= GROUP * (long) b; id++) {
        events.add(offered(id, 1, "w1", b));
        events.add(started(id, 1, b));
      }
    }
    return events;
  }

  @Test
  void readersOnManyThreadsSeeOnlyWholeBatches() throws Exception {
    Queue<String> violations = new ConcurrentLinkedQueue<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong reads = new AtomicLong();
    try (SqliteJobStore store = SqliteJobStore.open(dataDirectory);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < 8; r++) {
        readers.add(
            threads.submit(
                () -> {
                  while (writing.get()) {
                    check(store, violations);
                    reads.incrementAndGet();
                  }
                }));
      }
      // The writer is a platform thread, as the server's scheduler loop is: eight virtual readers
      // busy in native SQLite calls may hold every carrier thread of a small machine.
      Thread writer =
          Thread.ofPlatform()
              .name("writer")
              .start(
                  () -> {
                    try {
                      for (int b = 0; b < BATCHES; b++) {
                        store.persist(batch(b));
                      }
                    } finally {
                      writing.set(false);
                    }
                  });

      assertThat(writer.join(java.time.Duration.ofSeconds(120))).as("writer finished").isTrue();
      for (Future<?> reader : readers) {
        reader.get(60, TimeUnit.SECONDS);
      }
      check(store, violations);
      assertThat(store.list(0, List.of())).hasSize(GROUP * BATCHES);
    }

    assertThat(violations).isEmpty();
    assertThat(reads.get()).as("reads happened while writing").isPositive();
  }

  private static void check(SqliteJobStore store, Queue<String> violations) {
    List<JobSummary> all = store.list(0, List.of());
    if (all.size() % GROUP != 0) {
      violations.add("list saw " + all.size() + " jobs");
    }
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).id() != i + 1) {
        violations.add("gap in ids at " + all.get(i).id());
        break;
      }
    }
    int running = store.list(0, List.of(JobFilter.RUNNING)).size();
    if (running % GROUP != 0) {
      violations.add("list saw " + running + " running jobs");
    }
    JobStats stats = store.stats(at(0));
    long total = stats.pending() + stats.offered() + stats.running();
    if (total % GROUP != 0 || stats.running() % GROUP != 0 || stats.offered() != 0) {
      violations.add("stats saw " + stats);
    }
    if (!all.isEmpty()) {
      JobSummary newest = all.getLast();
      JobDetail detail = store.detail(newest.id()).orElseThrow();
      String last = detail.history().getLast().what();
      boolean agrees =
          detail.summary().state() == JobState.PENDING
              ? last.equals("submitted")
              : last.equals("started") && detail.summary().state() == JobState.RUNNING;
      if (!agrees) {
        violations.add("job " + newest.id() + " is " + detail.summary().state() + " after " + last);
      }
    }
  }
}
