package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import kueue.core.Command;
import kueue.core.Effect;
import kueue.core.Scheduler;
import kueue.core.SchedulerSettings;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;
import kueue.store.SqliteJobStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The loop's promise to waiters: what it says has ended can be read from the store. */
@Timeout(60)
class SchedulerLoopTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  private SqliteJobStore store;
  private SchedulerLoop loop;

  @AfterEach
  void stop() {
    if (loop != null) {
      loop.stop();
    }
    if (store != null) {
      store.close();
    }
  }

  @Test
  void aWaitForAJobThatEndsInTheSameBatchCompletesOnlyOnceTheEndIsStored() throws Exception {
    store = SqliteJobStore.open(dir);
    Scheduler scheduler =
        new Scheduler(
            new SchedulerSettings(
                100, Map.of(), Duration.ofMinutes(1), Duration.ofMinutes(1), Duration.ofDays(1), 5),
            store.nextJobId());
    loop = new SchedulerLoop(scheduler, store, Clock.systemUTC(), () -> {});
    loop.start();
    WorkerCapacity capacity = new WorkerCapacity(new Resources(4, 4, 8000), 0, 8000);
    loop.tell(new Command.ConnectWorker(1, "w", capacity, List.of()));
    Effect submitted =
        loop.request(
                id ->
                    new Command.Submit(
                        id,
                        List.of(
                            JobSpecBuilder.builder()
                                .argv(List.of("true"))
                                .cwd("/tmp")
                                .slots(1)
                                .cpus(1)
                                .ramMb(100)
                                .globalResources(Map.of())
                                .build())))
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    long job = ((Effect.SubmitAccepted) submitted).jobIds().getFirst();
    // Offered to worker 1 in the batch of the submission (the loop has no link to send it on).
    assertThat(store.summaries(List.of(job)).getFirst().state()).isEqualTo(JobState.OFFERED);

    // Holds the loop so that the end and the wait are taken as one batch, the end first.
    CountDownLatch release = new CountDownLatch(1);
    loop.submit(
        now -> {
          try {
            release.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    Instant now = Instant.now();
    loop.tell(new Command.MarkStarted(1, job, 1, now));
    loop.tell(
        new Command.MarkEnded(
            1,
            job,
            1,
            new JobOutcome(0, null, null, now, now),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY));
    CompletableFuture<JobState> stateWhenDone =
        loop.awaitEnd(List.of(job))
            .thenApply(ignored -> store.summaries(List.of(job)).getFirst().state());
    release.countDown();

    assertThat(stateWhenDone.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(JobState.FINISHED);
  }
}
