package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.time.Duration;
import java.util.List;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class LifecycleTest {

  @Test
  void startingTheOfferedAttemptMakesTheJobRunning() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.advance(Duration.ofSeconds(2));

    harness.start(worker, job, 1);

    assertThat(harness.last.events()).containsExactly(new Event.JobStarted(job, 1, harness.now));
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, worker, null));
  }

  @Test
  void anEndedAttemptIsRecordedWithItsOutcomeAndTheJobLeavesTheScheduler() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().cpus(3).ramMb(700));
    harness.start(worker, job, 1);
    JobOutcome outcome = new JobOutcome(3, null, null, harness.now, harness.now.plusSeconds(5));
    CapturedOutput out = new CapturedOutput("tail", 12);

    harness.step(new Command.MarkEnded(worker, job, 1, outcome, out, CapturedOutput.EMPTY));

    assertThat(harness.last.events())
        .containsExactly(
            new Event.JobEnded(job, 1, outcome, out, CapturedOutput.EMPTY, harness.now));
    assertThat(harness.last.effects())
        .containsExactly(
            new Effect.JobsTerminated(List.of(job)), new Effect.ConfirmResult(worker, job, 1));
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
    assertThat(harness.worker(worker).jobIds()).isEmpty();
  }

  @Test
  void aJobThatCouldNotStartEndsStraightFromOffered() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    JobOutcome outcome =
        new JobOutcome(null, null, "command not found: ./run.sh", null, harness.now);

    harness.step(
        new Command.MarkEnded(worker, job, 1, outcome, CapturedOutput.EMPTY, CapturedOutput.EMPTY));

    assertThat(harness.events(Event.JobEnded.class))
        .singleElement()
        .extracting(Event.JobEnded::outcome)
        .isEqualTo(outcome);
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void aResultOfASupersededAttemptIsConfirmedButIgnored() {
    SchedulerHarness harness = SchedulerHarness.create();
    long lost = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.start(lost, job, 1);
    harness.disconnectAndWaitOut(lost);
    long current = harness.connect(aWorker());
    harness.start(current, job, 2);

    harness.end(current, job, 1, 0);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).containsExactly(new Effect.ConfirmResult(current, job, 1));
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 2, current, null));
  }

  @Test
  void aResultForAnUnknownOrEndedJobIsConfirmedSoTheWorkerForgetsIt() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.start(worker, job, 1);
    harness.end(worker, job, 1, 0);

    harness.end(worker, job, 1, 0);
    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).containsExactly(new Effect.ConfirmResult(worker, job, 1));

    harness.end(worker, 12345, 1, 0);
    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).containsExactly(new Effect.ConfirmResult(worker, 12345, 1));
  }

  @Test
  void aStartOfASupersededAttemptIsAnsweredWithAKill() {
    SchedulerHarness harness =
        SchedulerHarness.settings().offerTimeout(Duration.ofSeconds(10)).harness();
    long slow = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.advance(Duration.ofSeconds(11));
    harness.tick();
    assertThat(harness.offers()).containsExactly(entry(job, slow));
    assertThat(harness.view(job).attempt()).isEqualTo(2);

    harness.start(slow, job, 1);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects())
        .containsExactly(new Effect.SendKill(slow, job, 1, "superseded"));
    assertThat(harness.state(job)).isEqualTo(JobState.OFFERED);
  }

  @Test
  void aStartFromAWorkerThatDoesNotHoldTheAttemptIsIgnoredWhenThatAttemptIsNotCurrent() {
    SchedulerHarness harness = SchedulerHarness.create();
    long holder = harness.connect(aWorker());
    long stranger = harness.connect(aWorker());
    long job = harness.submitOne(aJob());

    harness.start(stranger, job, 5);
    harness.start(holder, job, 1);
    harness.start(holder, job, 1);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).isEmpty();
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, holder, null));
    assertThat(harness.worker(stranger).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void anotherWorkerCannotStartOrEndTheAttemptAWorkerHolds() {
    SchedulerHarness harness = SchedulerHarness.create();
    long holder = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    long stranger = harness.connect(aWorker());

    harness.start(stranger, job, 1);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects())
        .containsExactly(new Effect.SendKill(stranger, job, 1, "superseded"));
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.OFFERED, 1, holder, null));

    harness.start(holder, job, 1);
    harness.end(stranger, job, 1, 0);

    assertThat(harness.last.events()).as("a forged end is not stored").isEmpty();
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, holder, null));
    assertThat(harness.worker(stranger).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void messagesFromAnUnknownWorkerChangeNothing() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());

    harness.start(77, job, 1);
    harness.decline(77, job, 1, true);
    harness.step(new Command.UpdateWorker(77, aWorker().capacity()));
    harness.step(new Command.DisconnectWorker(77, "gone"));

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects()).isEmpty();
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.OFFERED, 1, worker, null));
  }

  @Test
  void aPendingJobIsCanceledAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());

    Decisions decisions = harness.cancel(job, false);

    assertThat(decisions.events())
        .containsExactly(new Event.JobCanceled(job, "canceled by user", harness.now));
    assertThat(decisions.effects())
        .containsExactly(
            new Effect.CancelAccepted(2, job), new Effect.JobsTerminated(List.of(job)));
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
    long worker = harness.connect(aWorker());
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void aRunningJobIsNotCanceledWithoutKill() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.start(worker, job, 1);

    Decisions decisions = harness.cancel(job, false);

    assertThat(decisions.events()).isEmpty();
    assertThat(decisions.effects())
        .containsExactly(
            new Effect.RequestRejected(2, "job " + job + " is running; use --kill to stop it"));
    assertThat(harness.state(job)).isEqualTo(JobState.RUNNING);
  }

  @Test
  void killingARunningJobCancelsItAndKeepsItsResourcesUntilTheWorkerReportsItEnded() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    long worker = harness.connect(aWorker().slots(1));
    long job = harness.submitOne(aJob().resource("genus", 1).cpus(2));
    harness.start(worker, job, 1);
    long next = harness.submitOne(aJob());

    Decisions decisions = harness.cancel(job, true);

    assertThat(decisions.events())
        .containsExactly(new Event.JobCanceled(job, "canceled by user", harness.now));
    assertThat(decisions.effects())
        .containsExactly(
            new Effect.SendKill(worker, job, 1, "canceled by user"),
            new Effect.CancelAccepted(3, job),
            new Effect.JobsTerminated(List.of(job)));
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(1, 2, 100));
    assertThat(harness.worker(worker).jobIds()).isEmpty();
    assertThat(harness.used("genus")).isEqualTo(1);
    assertThat(harness.offers()).isEmpty();

    harness.end(worker, job, 1, 143);

    assertThat(harness.last.events())
        .containsExactly(new Event.JobOffered(next, 1, worker, "worker", harness.now));
    assertThat(harness.last.effects()).contains(new Effect.ConfirmResult(worker, job, 1));
    assertThat(harness.used("genus")).isZero();
  }

  @Test
  void theResourcesOfAKilledJobAreFreedWhenItsWorkerGoesAway() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().resource("genus", 1));
    harness.start(worker, job, 1);
    harness.cancel(job, true);

    harness.disconnect(worker);

    assertThat(harness.used("genus")).isZero();
  }

  @Test
  void killingAnOfferedJobFreesItsResourcesWhenTheWorkerDeclinesTheOffer() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    assertThat(harness.cancel(job, false).effects())
        .containsExactly(
            new Effect.RequestRejected(
                2, "job " + job + " is being offered to a worker; use --kill to stop it"));
    harness.cancel(job, true);
    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(1, 1, 100));

    harness.decline(worker, job, 1, false);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void cancelingAnUnknownOrEndedJobIsRejected() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());
    harness.cancel(job, false);

    Decisions decisions = harness.cancel(job, true);

    assertThat(decisions.events()).isEmpty();
    assertThat(decisions.effects())
        .containsExactly(
            new Effect.RequestRejected(3, "job " + job + " not found or already ended"));
  }

  @Test
  void aKilledOfferThatTheWorkerNeverAnswersFreesItsResourcesAfterTheOfferTimeout() {
    SchedulerHarness harness =
        SchedulerHarness.settings().offerTimeout(Duration.ofSeconds(60)).harness();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().cpus(2));
    harness.cancel(job, true);
    harness.advance(Duration.ofSeconds(60));
    harness.tick();
    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(1, 2, 100));

    harness.advance(Duration.ofSeconds(1));
    harness.tick();

    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void aKilledJobThatStartedKeepsItsResourcesUntilItIsReportedEndedHoweverLongThatTakes() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob().cpus(2));
    harness.cancel(job, true);
    harness.start(worker, job, 1);
    assertThat(harness.last.effects()).isEmpty();

    harness.advance(Duration.ofMinutes(2));
    harness.update(worker, aWorker());
    harness.tick();

    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(1, 2, 100));
    harness.end(worker, job, 1, 143);
    assertThat(harness.worker(worker).reserved()).isEqualTo(Resources.NONE);
  }
}
