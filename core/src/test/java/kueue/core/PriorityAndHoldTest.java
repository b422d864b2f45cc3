package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import kueue.model.JobState;
import kueue.model.JobUpdate;
import org.junit.jupiter.api.Test;

class PriorityAndHoldTest {

  @Test
  void pendingJobsArePlacedByPriorityThenSubmissionOrder() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(1).cpus(1));
    long running = harness.submitOne(aJob());
    long low = harness.submitOne(aJob());
    long high = harness.submitOne(aJob().priority(5));
    long lowLater = harness.submitOne(aJob());
    long highLater = harness.submitOne(aJob().priority(5));
    long negative = harness.submitOne(aJob().priority(-3).cpus(1).ramMb(50));

    List<Long> order = new ArrayList<>();
    long current = running;
    for (int i = 0; i < 5; i++) {
      harness.startCurrent(current);
      harness.endCurrent(current);
      current = harness.offers().keySet().iterator().next();
      assertThat(harness.workerOf(current)).isEqualTo(worker);
      order.add(current);
    }

    assertThat(order).containsExactly(high, highLater, low, lowLater, negative);
  }

  @Test
  void aHighPriorityJobThatFitsNowhereDoesNotHoldUpSmallerOnes() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(2).cpus(2));
    long big = harness.submitOne(aJob().cpus(16).priority(100));

    long small = harness.submitOne(aJob().cpus(1));

    assertThat(harness.offers()).containsKey(small);
    assertThat(harness.state(big)).isEqualTo(JobState.PENDING);
  }

  @Test
  void aJobSubmittedHeldWaitsUntilReleased() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());

    long job = harness.submitOne(aJob().held());

    assertThat(harness.state(job)).isEqualTo(JobState.HELD);
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(job)).contains("kueue release " + job);

    harness.releaseHold(job);

    assertThat(harness.offers()).containsEntry(job, worker);
    assertThat(SchedulerHarness.only(harness.last, Effect.JobsUpdated.class).updated())
        .containsExactly(job);
  }

  @Test
  void aPendingJobCanBeHeldAndAHeldJobCanBeCanceled() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());
    long other = harness.submitOne(aJob());

    harness.hold(job);
    harness.connect(aWorker());

    assertThat(harness.state(job)).isEqualTo(JobState.HELD);
    assertThat(harness.offers()).containsOnlyKeys(other);

    harness.cancel(job, false);

    assertThat(harness.hasEnded(job)).isTrue();
    assertThat(harness.last.effects()).contains(new Effect.JobsTerminated(List.of(job)));
  }

  @Test
  void startedAndUnknownJobsAreSkippedWithTheReason() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long offered = harness.submitOne(aJob());
    long pending = harness.submitOne(aJob().cpus(64));

    harness.hold(offered, pending, 99L);

    Effect.JobsUpdated answer = SchedulerHarness.only(harness.last, Effect.JobsUpdated.class);
    assertThat(answer.updated()).containsExactly(pending);
    assertThat(answer.skipped())
        .containsExactly("job " + offered + " has started", "job 99 not found or already ended");

    harness.releaseHold(offered);
    assertThat(SchedulerHarness.only(harness.last, Effect.JobsUpdated.class).skipped())
        .containsExactly("job " + offered + " has started");
  }

  @Test
  void aNewPriorityReordersAPendingJobAndIsRecorded() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(1));
    long running = harness.submitOne(aJob());
    long first = harness.submitOne(aJob());
    long second = harness.submitOne(aJob());

    harness.update(List.of(second), new JobUpdate(null, 7));

    assertThat(harness.last.events())
        .containsExactly(new Event.JobUpdated(second, 7, SchedulerHarness.START));
    harness.startCurrent(running);
    harness.endCurrent(running);
    assertThat(harness.offers()).containsOnlyKeys(second);
    assertThat(harness.workerOf(second)).isEqualTo(worker);
    assertThat(harness.state(first)).isEqualTo(JobState.PENDING);
  }

  @Test
  void aHeldJobKeepsItsNewPriorityWhenReleased() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(1));
    long running = harness.submitOne(aJob());
    long first = harness.submitOne(aJob());
    long held = harness.submitOne(aJob().held());

    harness.update(List.of(held), new JobUpdate(false, 3));
    harness.startCurrent(running);
    harness.endCurrent(running);

    assertThat(harness.offers()).containsOnlyKeys(held);
    assertThat(harness.state(first)).isEqualTo(JobState.PENDING);
  }

  @Test
  void restoredJobsKeepTheirPriorityAndHold() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.restore(
        List.of(
            new RestoredJob(
                1,
                JobState.PENDING,
                aJob().build().demand(),
                java.util.Map.of(),
                0,
                SchedulerHarness.START,
                0,
                List.of()),
            new RestoredJob(
                2,
                JobState.PENDING,
                aJob().build().demand(),
                java.util.Map.of(),
                0,
                SchedulerHarness.START,
                9,
                List.of()),
            new RestoredJob(
                3,
                JobState.HELD,
                aJob().build().demand(),
                java.util.Map.of(),
                0,
                SchedulerHarness.START,
                20,
                List.of())));

    harness.connect(aWorker().slots(1));

    assertThat(harness.offers()).containsOnlyKeys(2L);
    assertThat(harness.state(3)).isEqualTo(JobState.HELD);
  }
}
