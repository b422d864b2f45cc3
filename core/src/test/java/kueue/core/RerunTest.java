package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import kueue.model.JobState;
import org.junit.jupiter.api.Test;

class RerunTest {

  @Test
  void aFailedJobIsQueuedAgainAsItsNextAttempt() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.startCurrent(job);
    harness.endCurrent(job, 1);

    harness.rerun(job);

    assertThat(harness.events(Event.JobRerun.class))
        .containsExactly(new Event.JobRerun(job, "by user", SchedulerHarness.START));
    assertThat(harness.offers()).containsEntry(job, worker);
    assertThat(harness.view(job).attempt()).isEqualTo(2);
    assertThat(SchedulerHarness.only(harness.last, Effect.JobsUpdated.class).updated())
        .containsExactly(job);
  }

  @Test
  void dependentsCanceledBecauseOfItComeBackAndWaitForIt() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(4));
    long parent = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(parent));
    long grandchild = harness.submitOne(aJob().after(child));
    long unrelated = harness.submitOne(aJob().cpus(64));
    harness.cancel(unrelated, false);
    harness.startCurrent(parent);
    harness.endCurrent(parent, 2);
    assertThat(harness.hasEnded(grandchild)).isTrue();

    harness.rerun(parent);

    assertThat(harness.offers()).containsOnlyKeys(parent);
    assertThat(harness.state(child)).isEqualTo(JobState.WAITING);
    assertThat(harness.state(grandchild)).isEqualTo(JobState.WAITING);
    assertThat(harness.hasEnded(unrelated)).isTrue();
    assertThat(harness.events(Event.JobRerun.class))
        .extracting(Event.JobRerun::reason)
        .containsExactly(
            "by user",
            "with job " + parent + ", which it depends on",
            "with job " + child + ", which it depends on");

    harness.startCurrent(parent);
    harness.endCurrent(parent, 0);
    assertThat(harness.offers()).containsOnlyKeys(child);
  }

  @Test
  void aJobThatHasNotEndedIsSkipped() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());

    harness.rerun(job);

    Effect.JobsUpdated answer = SchedulerHarness.only(harness.last, Effect.JobsUpdated.class);
    assertThat(answer.updated()).isEmpty();
    assertThat(answer.skipped()).containsExactly("job " + job + " has not ended");
  }

  @Test
  void aDependentWhoseOtherParentFailedIsCanceledAgainAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(4));
    long first = harness.submitOne(aJob());
    long second = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(first, second));
    harness.startCurrent(second);
    harness.endCurrent(second, 1);
    harness.startCurrent(first);
    harness.endCurrent(first, 0);

    harness.rerun(child);

    assertThat(harness.canceledReason(child)).isEqualTo("dependency on job " + second + " failed");
    assertThat(harness.last.effects()).contains(new Effect.JobsTerminated(List.of(child)));
    Effect.JobsUpdated answer = SchedulerHarness.only(harness.last, Effect.JobsUpdated.class);
    assertThat(answer.updated()).isEmpty();
    assertThat(answer.skipped())
        .containsExactly(
            "job " + child + " was canceled again: dependency on job " + second + " failed");
  }

  @Test
  void aParentThatEndedAfterTheLookUpAsksForAnotherOne() {
    SchedulerHarness harness = SchedulerHarness.create();
    long parent = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(parent));
    harness.cancel(child, false);
    harness.cancel(parent, false);

    Decisions raced =
        harness.step(
            new Command.Rerun(
                500,
                List.of(
                    new RestoredJob(
                        child,
                        JobState.CANCELED,
                        aJob().build().demand(),
                        java.util.Map.of(),
                        0,
                        SchedulerHarness.START,
                        0,
                        List.of(
                            new RestoredJob.RestoredDependency(
                                kueue.model.DependencyKind.AFTEROK,
                                parent,
                                JobState.PENDING,
                                null)))),
                java.util.Set.of(child)));

    assertThat(raced.effects()).containsExactly(new Effect.SubmitRaced(500));
  }
}
