package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.model.BatchEntry;
import kueue.model.DependencyKind;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class DependenciesTest {

  @Test
  void aDependentWaitsForItsParentToSucceedAndThenRuns() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(4));
    long parent = harness.submitOne(aJob());

    long child = harness.submitOne(aJob().after(parent));

    assertThat(harness.state(child)).isEqualTo(JobState.WAITING);
    assertThat(harness.pendingReason(child)).startsWith("1 dependency not met yet");
    assertThat(harness.offers()).isEmpty();

    harness.startCurrent(parent);
    harness.endCurrent(parent, 0);

    assertThat(harness.events(Event.JobUnblocked.class))
        .containsExactly(new Event.JobUnblocked(child, SchedulerHarness.START));
    assertThat(harness.offers()).containsEntry(child, worker);
  }

  @Test
  void aFailedParentCancelsTheWholeChainAtOnceWithTheReason() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long first = harness.submitOne(aJob());
    long second = harness.submitOne(aJob().after(first));
    long third = harness.submitOne(aJob().after(second));
    long unrelated = harness.submitOne(aJob().cpus(64));

    harness.startCurrent(first);
    harness.endCurrent(first, 3);

    assertThat(harness.canceledReason(second)).isEqualTo("dependency on job " + first + " failed");
    assertThat(harness.canceledReason(third))
        .isEqualTo("dependency on job " + second + " failed: it was canceled");
    assertThat(harness.effects(Effect.JobsTerminated.class))
        .containsExactly(new Effect.JobsTerminated(List.of(first, second, third)));
    assertThat(harness.state(unrelated)).isEqualTo(JobState.PENDING);
  }

  @Test
  void aTimedOutParentCancelsItsAfterokDependentsAndReleasesItsAfternotokOnes() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(4));
    long parent = harness.submitOne(aJob().timeLimitSeconds(2));
    long ok = harness.submitOne(aJob().after(parent));
    long notOk = harness.submitOne(aJob().dependency("afternotok:" + parent));

    harness.startCurrent(parent);
    harness.timeOutCurrent(parent);

    assertThat(harness.events(Event.JobTimedOut.class)).hasSize(1);
    assertThat(harness.canceledReason(ok))
        .isEqualTo("dependency on job " + parent + " failed: it timed out");
    assertThat(harness.offers()).containsEntry(notOk, worker);
  }

  @Test
  void aCanceledParentCancelsItsDependents() {
    SchedulerHarness harness = SchedulerHarness.create();
    long parent = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(parent));

    harness.cancel(parent, false);

    assertThat(harness.canceledReason(child))
        .isEqualTo("dependency on job " + parent + " failed: it was canceled");
    assertThat(harness.last.effects()).contains(new Effect.JobsTerminated(List.of(parent, child)));
  }

  @Test
  void afteranyAndAfternotokFollowHowTheParentEnded() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    long parent = harness.submitOne(aJob());
    long any = harness.submitOne(aJob().dependency("afterany:" + parent));
    long notOk = harness.submitOne(aJob().dependency("afternotok:" + parent));
    long ok = harness.submitOne(aJob().dependency("afterok:" + parent));

    harness.startCurrent(parent);
    harness.endCurrent(parent, 1);

    assertThat(harness.offers()).containsOnlyKeys(any, notOk);
    assertThat(harness.canceledReason(ok)).isEqualTo("dependency on job " + parent + " failed");
  }

  @Test
  void afternotokOfASucceededParentCanNeverBeMet() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long parent = harness.submitOne(aJob());
    long cleanup = harness.submitOne(aJob().dependency("afternotok:" + parent));

    harness.startCurrent(parent);
    harness.endCurrent(parent, 0);

    assertThat(harness.canceledReason(cleanup))
        .isEqualTo("dependency on job " + parent + " failed: it succeeded");
  }

  @Test
  void allConditionsMustHoldInADiamond() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    long top = harness.submitOne(aJob());
    long left = harness.submitOne(aJob().after(top));
    long right = harness.submitOne(aJob().after(top));
    long bottom = harness.submitOne(aJob().after(left, right));

    harness.startCurrent(top);
    harness.endCurrent(top, 0);
    harness.startCurrent(left);
    harness.endCurrent(left, 0);

    assertThat(harness.state(bottom)).isEqualTo(JobState.WAITING);
    harness.startCurrent(right);
    harness.endCurrent(right, 0);
    assertThat(harness.offers()).containsOnlyKeys(bottom);
  }

  @Test
  void aBatchIdStandsForEveryJobOfTheBatch() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    harness.submitBatch(
        aJob().build(), List.of(new BatchEntry(0L, null), new BatchEntry(1L, null)));
    List<Long> batch = harness.effects(Effect.SubmitAccepted.class).getFirst().jobIds();

    long after = harness.submitOne(aJob().after(batch.getFirst()));

    harness.startCurrent(batch.get(0));
    harness.endCurrent(batch.get(0), 0);
    assertThat(harness.state(after)).isEqualTo(JobState.WAITING);
    harness.startCurrent(batch.get(1));
    harness.endCurrent(batch.get(1), 0);
    assertThat(harness.offers()).containsOnlyKeys(after);
  }

  @Test
  void everyJobOfABatchGetsTheDependency() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    long parent = harness.submitOne(aJob());

    harness.submitBatch(
        aJob().after(parent).build(),
        List.of(new BatchEntry(0L, null), new BatchEntry(1L, null), new BatchEntry(2L, null)));
    List<Long> batch = harness.effects(Effect.SubmitAccepted.class).getFirst().jobIds();

    assertThat(batch).allSatisfy(id -> assertThat(harness.state(id)).isEqualTo(JobState.WAITING));
    harness.startCurrent(parent);
    harness.endCurrent(parent, 0);
    assertThat(harness.offers()).containsOnlyKeys(batch.toArray(Long[]::new));
  }

  @Test
  void unknownIdsAreRefusedAndEndedParentsDecideAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long good = harness.submitOne(aJob());
    harness.startCurrent(good);
    harness.endCurrent(good, 0);
    long bad = harness.submitOne(aJob());
    harness.startCurrent(bad);
    harness.endCurrent(bad, 1);

    Decisions unknown = harness.submitSpecs(List.of(aJob().after(999).build()));
    assertThat(SchedulerHarness.only(unknown, Effect.RequestRejected.class).reason())
        .isEqualTo("job 999 not found: a dependency must name a stored job or batch");

    long runs = harness.submitOne(aJob().after(good));
    assertThat(harness.offers()).containsOnlyKeys(runs);

    long canceled = harness.submitOne(aJob().after(bad));
    assertThat(harness.canceledReason(canceled)).isEqualTo("dependency on job " + bad + " failed");
    assertThat(harness.hasEnded(canceled)).isTrue();
  }

  @Test
  void aParentThatEndedAfterItWasLookedUpAsksForAnotherLookUp() {
    SchedulerHarness harness = SchedulerHarness.create();
    long parent = harness.submitOne(aJob());
    harness.cancel(parent, false);

    Decisions raced =
        harness.step(
            new Command.Submit(
                1000,
                List.of(aJob().after(parent).build()),
                new DependencyTargets(Map.of(parent, List.of(parent)), Map.of())));

    assertThat(raced.effects()).containsExactly(new Effect.SubmitRaced(1000));
  }

  @Test
  void aHeldDependentStaysHeldWhenItsParentSucceedsAndIsCanceledWhenItFails() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    long parent = harness.submitOne(aJob());
    long failing = harness.submitOne(aJob());
    long held = harness.submitOne(aJob().after(parent).held());
    long heldOnFailing = harness.submitOne(aJob().after(failing).held());
    long releasedEarly = harness.submitOne(aJob().after(parent).held());

    harness.releaseHold(releasedEarly);
    assertThat(harness.state(releasedEarly)).isEqualTo(JobState.WAITING);

    harness.startCurrent(parent);
    harness.endCurrent(parent, 0);
    assertThat(harness.state(held)).isEqualTo(JobState.HELD);
    assertThat(harness.offers()).containsOnlyKeys(releasedEarly);

    harness.startCurrent(failing);
    harness.endCurrent(failing, 2);
    assertThat(harness.canceledReason(heldOnFailing))
        .isEqualTo("dependency on job " + failing + " failed");

    harness.releaseHold(held);
    assertThat(harness.offers()).containsOnlyKeys(held);
  }

  @Test
  void holdingAWaitingJobKeepsItsDependencies() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(10));
    long parent = harness.submitOne(aJob().cpus(64));
    long child = harness.submitOne(aJob().after(parent));

    harness.hold(child);
    harness.releaseHold(child);

    assertThat(harness.state(child)).isEqualTo(JobState.WAITING);
  }

  @Test
  void aParentLostTooOftenCancelsItsDependents() {
    SchedulerHarness harness = SchedulerHarness.settings().maxAttempts(1).harness();
    long worker = harness.connect(aWorker());
    long parent = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(parent));
    harness.startCurrent(parent);

    harness.disconnectAndWaitOut(worker);

    assertThat(harness.canceledReason(child)).isEqualTo("dependency on job " + parent + " failed");
  }

  @Test
  void restoredDependentsLinkToActiveParentsAndSettleOnesThatEnded() {
    SchedulerHarness harness = SchedulerHarness.create();
    Resources demand = aJob().build().demand();
    harness.restore(
        List.of(
            new RestoredJob(1, JobState.PENDING, demand, Map.of(), 0, SchedulerHarness.START),
            restoredWaiting(2, demand, DependencyKind.AFTEROK, 1, null, null),
            restoredWaiting(3, demand, DependencyKind.AFTEROK, 50, JobState.FINISHED, 4),
            restoredWaiting(4, demand, DependencyKind.AFTERANY, 51, JobState.CANCELED, null),
            restoredWaiting(5, demand, DependencyKind.AFTEROK, 3, null, null)));

    long worker = harness.connect(aWorker().slots(1));

    assertThat(harness.canceledReason(3)).isEqualTo("dependency on job 50 failed");
    assertThat(harness.canceledReason(5)).isEqualTo("dependency on job 3 failed: it was canceled");
    assertThat(harness.events(Event.JobUnblocked.class))
        .extracting(Event.JobUnblocked::jobId)
        .containsExactly(4L);
    assertThat(harness.state(2)).isEqualTo(JobState.WAITING);
    assertThat(harness.workerOf(1)).isEqualTo(worker);

    harness.startCurrent(1);
    harness.endCurrent(1, 0);
    assertThat(harness.offers()).containsOnlyKeys(2L);
  }

  @Test
  void aLongChainAndAWideFanOutAreSettledInOneStep() {
    SchedulerHarness harness = SchedulerHarness.create();
    long root = harness.submitOne(aJob());
    List<Long> chain = new ArrayList<>();
    long previous = root;
    for (int i = 0; i < 300; i++) {
      previous = harness.submitOne(aJob().after(previous));
      chain.add(previous);
    }

    harness.cancel(root, false);

    assertThat(harness.events(Event.JobCanceled.class)).hasSize(301);
    assertThat(chain).allSatisfy(id -> assertThat(harness.hasEnded(id)).isTrue());
  }

  private static RestoredJob restoredWaiting(
      long id,
      Resources demand,
      DependencyKind kind,
      long parent,
      JobState parentState,
      Integer parentExit) {
    return new RestoredJob(
        id,
        JobState.WAITING,
        demand,
        Map.of(),
        0,
        SchedulerHarness.START,
        0,
        List.of(new RestoredJob.RestoredDependency(kind, parent, parentState, parentExit)));
  }
}
