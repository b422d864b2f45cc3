package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class DeclineTest {

  @Test
  void aPermanentDeclineSendsTheJobToAnotherWorkerAtOnceAndNeverBack() {
    SchedulerHarness harness = SchedulerHarness.create();
    long blind = harness.connect(aWorker().named("blind").cpus(64));
    long seeing = harness.connect(aWorker().named("seeing").cpus(8));
    long job = harness.submitOne(aJob());
    assertThat(harness.offers()).containsExactly(entry(job, blind));

    harness.decline(blind, job, 1, true);

    assertThat(harness.events(Event.JobDeclined.class))
        .containsExactly(new Event.JobDeclined(job, 1, "blind", "no such directory", harness.now));
    assertThat(harness.offers()).containsExactly(entry(job, seeing));
    assertThat(harness.view(job).attempt()).isEqualTo(2);
    assertThat(harness.worker(blind).reserved()).isEqualTo(Resources.NONE);

    harness.disconnectAndWaitOut(seeing);

    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(job))
        .isEqualTo("declined by every connected worker: blind: no such directory");
    harness.update(blind, aWorker().cpus(64));
    assertThat(harness.offers()).isEmpty();
  }

  @Test
  void aJobDeclinedByEveryWorkerGoesToTheNextWorkerThatConnects() {
    SchedulerHarness harness = SchedulerHarness.create();
    long first = harness.connect(aWorker().named("vm1"));
    long job = harness.submitOne(aJob());
    harness.decline(first, job, 1, true);
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(job))
        .isEqualTo("declined by every connected worker: vm1: no such directory");

    long second = harness.connect(aWorker());

    assertThat(harness.offers()).containsExactly(entry(job, second));
  }

  @Test
  void theReasonNamesEveryConnectedWorkerWithItsOwnDecline() {
    SchedulerHarness harness = SchedulerHarness.create();
    long vm2 = harness.connect(aWorker().named("vm2").slots(1));
    long job = harness.submitOne(aJob());
    harness.decline(vm2, job, 1, true, "working directory /x does not exist here");
    long vm1 = harness.connect(aWorker().named("vm1").slots(1));
    assertThat(harness.offers()).containsExactly(entry(job, vm1));
    assertThat(harness.pendingReason(job)).isNull();

    harness.decline(vm1, job, 2, true, "working directory /x is not readable");

    assertThat(harness.pendingReason(job))
        .isEqualTo(
            "declined by every connected worker: vm1: working directory /x is not readable;"
                + " vm2: working directory /x does not exist here");
    harness.disconnectAndWaitOut(vm1);
    assertThat(harness.pendingReason(job))
        .isEqualTo(
            "declined by every connected worker: vm2: working directory /x does not exist here");
  }

  @Test
  void aJobDeclinedByEveryWorkerDoesNotHoldUpOtherJobs() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(1));
    long blocked = harness.submitOne(aJob());
    harness.decline(worker, blocked, 1, true);

    long other = harness.submitOne(aJob());

    assertThat(harness.offers()).containsExactly(entry(other, worker));
    assertThat(harness.state(blocked)).isEqualTo(JobState.PENDING);
  }

  @Test
  void aJobDeclinedByOneWorkerDoesNotHoldUpJobsOfTheSameShapeThatWorkerWouldTake() {
    SchedulerHarness harness = SchedulerHarness.create();
    long a = harness.connect(aWorker().slots(1));
    long b = harness.connect(aWorker().slots(1));
    List<Long> jobs = harness.submit(aJob(), aJob());
    assertThat(harness.offers()).containsExactly(entry(jobs.get(0), a), entry(jobs.get(1), b));
    harness.decline(a, jobs.get(0), 1, true);
    assertThat(harness.offers()).isEmpty();

    long third = harness.submitOne(aJob());

    assertThat(harness.offers()).containsExactly(entry(third, a));
    harness.startCurrent(jobs.get(1));
    harness.endCurrent(jobs.get(1));
    assertThat(harness.offers()).containsExactly(entry(jobs.get(0), b));
  }

  @Test
  void aTemporaryDeclineKeepsTheJobFromThatWorkerOnlyUntilItsNextReport() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());

    harness.decline(worker, job, 1, false);

    assertThat(harness.offers()).isEmpty();
    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    harness.update(worker, aWorker());
    assertThat(harness.offers()).containsExactly(entry(job, worker));
    assertThat(harness.view(job).attempt()).isEqualTo(2);
  }

  @Test
  void aTemporaryDeclineLetsAnotherWorkerTakeTheJobAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    long busy = harness.connect(aWorker());
    long other = harness.connect(aWorker().loadCpus(1));
    long job = harness.submitOne(aJob());
    assertThat(harness.offers()).containsExactly(entry(job, busy));

    harness.decline(busy, job, 1, false);

    assertThat(harness.offers()).containsExactly(entry(job, other));
  }

  @Test
  void aDeclinedJobKeepsItsPlaceInTheQueue() {
    SchedulerHarness harness = SchedulerHarness.create();
    long first = harness.connect(aWorker().slots(1));
    List<Long> jobs = harness.submit(aJob(), aJob(), aJob());
    assertThat(harness.offers()).containsExactly(entry(jobs.get(0), first));
    harness.decline(first, jobs.get(0), 1, true);
    assertThat(harness.offers()).containsExactly(entry(jobs.get(1), first));

    long second = harness.connect(aWorker().slots(1));

    assertThat(harness.offers()).containsExactly(entry(jobs.get(0), second));
    assertThat(harness.state(jobs.get(2))).isEqualTo(JobState.PENDING);
  }

  @Test
  void aDeclineForAnAttemptThatIsNoLongerOfferedChangesNothing() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long other = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.startCurrent(job);

    harness.decline(worker, job, 1, true);
    harness.decline(other, job, 1, true);
    harness.decline(worker, job, 7, true);
    harness.decline(worker, 999, 1, true);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).isEmpty();
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, worker, null));
  }

  @Test
  void aWorkerThatComesBackUnderItsIdIsAskedAgainForWhatItDeclinedForGood() {
    SchedulerHarness harness = SchedulerHarness.create();
    long vm = harness.connect(aWorker().named("vm"));
    long job = harness.submitOne(aJob());
    harness.decline(vm, job, 1, true);
    assertThat(harness.offers()).isEmpty();

    harness.disconnect(vm);
    harness.connectAs(vm, aWorker().named("vm"));

    assertThat(harness.offers()).containsExactly(entry(job, vm));
  }

  @Test
  void aJobDeclinedByEveryWorkerForTheWholeTimeoutFailsWithTheDeclinesAsItsReason() {
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .workerTimeout(Duration.ofHours(1))
            .declinedTimeout(Duration.ofMinutes(10))
            .harness();
    long vm1 = harness.connect(aWorker().named("vm1"));
    long job = harness.submitOne(aJob());
    long child = harness.submitOne(aJob().after(job));
    Instant declinedAt = harness.now;
    harness.decline(vm1, job, 1, true);
    assertThat(harness.pendingReason(job))
        .isEqualTo(
            "declined by every connected worker: vm1: no such directory (fails at "
                + declinedAt.plus(Duration.ofMinutes(10))
                + " unless a worker that joins takes it)");

    harness.advance(Duration.ofMinutes(9));
    harness.tick();
    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    harness.advance(Duration.ofMinutes(1));
    Decisions failed = harness.tick();

    assertThat(harness.events(Event.JobFailed.class))
        .containsExactly(
            new Event.JobFailed(
                job,
                "declined by every connected worker for 10 min: vm1: no such directory",
                harness.now));
    assertThat(failed.effects()).contains(new Effect.JobsTerminated(List.of(job, child)));
  }

  @Test
  void aJobDeclinedByEveryWorkerDoesNotFailWhileNoWorkerIsConnected() {
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .workerTimeout(Duration.ofMinutes(1))
            .declinedTimeout(Duration.ofMinutes(10))
            .harness();
    long vm1 = harness.connect(aWorker().named("vm1"));
    long job = harness.submitOne(aJob());
    harness.decline(vm1, job, 1, true);

    harness.disconnectAndWaitOut(vm1);
    harness.advance(Duration.ofMinutes(20));
    harness.tick();

    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    assertThat(harness.pendingReason(job)).isEqualTo("no worker connected");
  }

  @Test
  void aWorkerThatJoinsStartsTheTimeoutAgain() {
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .workerTimeout(Duration.ofHours(1))
            .declinedTimeout(Duration.ofMinutes(10))
            .harness();
    long vm1 = harness.connect(aWorker().named("vm1"));
    long job = harness.submitOne(aJob());
    harness.decline(vm1, job, 1, true);
    harness.advance(Duration.ofMinutes(9));
    long vm2 = harness.connect(aWorker().named("vm2"));
    harness.decline(vm2, job, 2, true);

    harness.advance(Duration.ofMinutes(9));
    harness.tick();
    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    harness.advance(Duration.ofMinutes(1));
    harness.tick();
    assertThat(harness.events(Event.JobFailed.class)).hasSize(1);
  }

  @Test
  void withoutATimeoutAJobDeclinedByEveryWorkerWaitsForANewOne() {
    SchedulerHarness harness = SchedulerHarness.create();
    long vm1 = harness.connect(aWorker().named("vm1"));
    long job = harness.submitOne(aJob());
    harness.decline(vm1, job, 1, true);

    for (int i = 0; i < 100; i++) {
      harness.advance(Duration.ofMinutes(4));
      harness.update(vm1, aWorker().named("vm1"));
      harness.tick();
    }

    assertThat(harness.state(job)).isEqualTo(JobState.PENDING);
    assertThat(harness.pendingReason(job))
        .isEqualTo("declined by every connected worker: vm1: no such directory");
  }
}
