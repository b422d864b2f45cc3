package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

/** What the scheduler does with an attempt that timed out or failed, and with a job's retries. */
class RetriesAndTimeLimitsTest {

  @Test
  void anAttemptStoppedAtItsTimeLimitEndsTheJobAsTimedOut() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().timeLimitSeconds(2).retries(3));
    harness.startCurrent(job);

    harness.timeOutCurrent(job);

    assertThat(harness.events(Event.JobTimedOut.class))
        .singleElement()
        .satisfies(e -> assertThat(e.outcome().timedOut()).isTrue());
    assertThat(harness.effects(Effect.JobsTerminated.class))
        .containsExactly(new Effect.JobsTerminated(List.of(job)));
    assertThat(harness.scheduler.activeJob(job)).as("timed out jobs are not retried").isEmpty();
    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void aFailedAttemptWithRetriesLeftRunsAgainAsTheNextAttempt() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(2));
    harness.startCurrent(job);

    harness.endCurrent(job, 3);

    Event.JobRetried retried = harness.events(Event.JobRetried.class).getFirst();
    assertThat(retried.attempt()).isEqualTo(1);
    assertThat(retried.outcome().exitCode()).isEqualTo(3);
    assertThat(retried.retry()).isEqualTo(1);
    assertThat(retried.retries()).isEqualTo(2);
    assertThat(retried.notBefore()).isNull();
    assertThat(harness.effects(Effect.JobsTerminated.class)).isEmpty();
    assertThat(harness.offers()).containsEntry(job, worker);
    assertThat(harness.view(job).attempt()).isEqualTo(2);
  }

  @Test
  void aJobThatSucceedsOnARetryEndsLikeAnyOther() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(3));
    harness.endCurrent(job, 1);
    harness.endCurrent(job, 1);

    harness.endCurrent(job, 0);

    assertThat(harness.events(Event.JobEnded.class))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.attempt()).isEqualTo(3);
              assertThat(e.outcome().exitCode()).isZero();
            });
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void aJobThatRunsOutOfRetriesFailsWithItsLastExitCode() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(2));
    harness.endCurrent(job, 1);
    harness.endCurrent(job, 2);

    harness.endCurrent(job, 7);

    assertThat(harness.events(Event.JobRetried.class)).isEmpty();
    assertThat(harness.events(Event.JobEnded.class))
        .singleElement()
        .satisfies(e -> assertThat(e.outcome().exitCode()).isEqualTo(7));
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void aJobWithoutRetriesFailsAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob());

    harness.endCurrent(job, 1);

    assertThat(harness.events(Event.JobEnded.class)).hasSize(1);
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void aRetryWaitsOutItsDelayBeforeItIsOfferedAgain() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(1).retryDelaySeconds(30));
    harness.startCurrent(job);

    harness.endCurrent(job, 1);

    Event.JobRetried retried = harness.events(Event.JobRetried.class).getFirst();
    assertThat(retried.notBefore()).isEqualTo(harness.now.plusSeconds(30));
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    assertThat(harness.pendingReason(job)).contains("retry 1 of 1");

    harness.advance(Duration.ofSeconds(29));
    harness.tick();
    assertThat(harness.offers()).isEmpty();

    harness.advance(Duration.ofSeconds(1));
    harness.tick();
    assertThat(harness.offers()).containsKey(job);
    assertThat(harness.view(job).attempt()).isEqualTo(2);
  }

  @Test
  void aJobWaitingForItsRetryCanBeCanceled() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(1).retryDelaySeconds(30));
    harness.endCurrent(job, 1);

    harness.cancel(job, false);

    assertThat(harness.events(Event.JobCanceled.class)).hasSize(1);
    harness.advance(Duration.ofSeconds(60));
    harness.tick();
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void lostAttemptsCountTowardTheMaximumAttemptsAndNotTowardTheRetries() {
    SchedulerHarness harness = SchedulerHarness.settings().maxAttempts(2).harness();
    long first = harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(5));
    harness.startCurrent(job);
    harness.disconnectAndWaitOut(first);
    assertThat(harness.events(Event.JobRequeued.class)).hasSize(1);

    long second = harness.connect(aWorker());
    harness.startCurrent(job);
    harness.endCurrent(job, 1);
    assertThat(harness.events(Event.JobRetried.class))
        .singleElement()
        .satisfies(e -> assertThat(e.retry()).isEqualTo(1));

    harness.startCurrent(job);
    harness.disconnectAndWaitOut(second);

    assertThat(harness.events(Event.JobFailed.class))
        .as("a job that keeps losing its worker stops, whatever its retries")
        .hasSize(1);
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void aRestoredJobWaitingForItsRetryIsOfferedOnlyOnceItsDelayIsOver() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.restore(
        List.of(
            new RestoredJob(
                7,
                JobState.PENDING,
                new Resources(1, 1, 100),
                java.util.Map.of(),
                1,
                SchedulerHarness.START,
                3,
                1,
                60,
                harness.now.plusSeconds(20)),
            new RestoredJob(
                8,
                JobState.PENDING,
                new Resources(1, 1, 100),
                java.util.Map.of(),
                1,
                SchedulerHarness.START,
                3,
                1,
                60,
                harness.now.minusSeconds(5))));
    harness.connect(aWorker());
    assertThat(harness.offers()).containsOnlyKeys(8L);

    harness.advance(Duration.ofSeconds(20));
    harness.tick();
    assertThat(harness.offers()).containsOnlyKeys(7L);

    harness.endCurrent(7, 1);
    Event.JobRetried retried = harness.events(Event.JobRetried.class).getFirst();
    assertThat(retried.retry()).isEqualTo(2);
    assertThat(retried.notBefore()).isEqualTo(harness.now.plusSeconds(60));
  }
}
