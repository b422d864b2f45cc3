package kueue.worker;

import static kueue.worker.WorkerCoreHarness.anOffer;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.Test;

/** What the worker accepts, reports and kills, driven through the core alone. */
class WorkerCoreTest {
  private final WorkerCoreHarness harness = WorkerCoreHarness.create();
  private final long session = harness.connectAndRegister();

  private AttemptRef running(WorkerCoreHarness.OfferBuilder offer) {
    harness.offer(session, offer);
    harness.processRuns(offer.ref());
    return offer.ref();
  }

  @Test
  void anAcceptedOfferStartsItsProcessAndReportsTheStartOnceItRuns() {
    harness.offer(session, anOffer(1));

    assertThat(harness.lastActions(WorkerAction.StartProcess.class))
        .extracting(WorkerAction.StartProcess::ref)
        .containsExactly(new AttemptRef(1, 1));
    assertThat(harness.lastSent()).isEmpty();

    harness.processRuns(new AttemptRef(1, 1));

    assertThat(harness.lastSent()).containsExactly(new Message.Started(1, 1, harness.instant()));
  }

  @Test
  void aJobThatEndsWithinTheQuickWatchIsReportedStartedAndEndedInOneWrite() {
    harness.offer(session, anOffer(1));

    harness.processEnds(new AttemptRef(1, 1), 0);

    List<WorkerAction.Send> sends = harness.lastActions(WorkerAction.Send.class);
    assertThat(sends).hasSize(1);
    assertThat(sends.getFirst().messages()).hasSize(2).first().isInstanceOf(Message.Started.class);
    assertThat(sends.getFirst().messages().get(1)).isInstanceOf(Message.Ended.class);
    assertThat(harness.core.slotsUsed()).isZero();
  }

  @Test
  void aJobThatCannotStartIsReportedEndedWithoutAStart() {
    harness.offer(session, anOffer(1));

    harness.processFailsToStart(new AttemptRef(1, 1));

    assertThat(harness.lastSent()).singleElement().isInstanceOf(Message.Ended.class);
    assertThat(harness.core.unconfirmed()).containsKey(new AttemptRef(1, 1));
  }

  @Test
  void aResultIsKeptUntilTheServerConfirmsIt() {
    AttemptRef job = running(anOffer(1));
    harness.processEnds(job, 3);
    harness.heartbeatAck(session);
    assertThat(harness.core.unconfirmed()).containsKey(job);

    harness.resultStored(session, job);

    assertThat(harness.core.unconfirmed()).isEmpty();
  }

  @Test
  void aRepeatedOfferRepeatsTheStartOrTheResultWithoutStartingTheJobAgain() {
    AttemptRef job = running(anOffer(1));
    Message.Started first = harness.sentOn(session, Message.Started.class).getFirst();

    harness.offer(session, anOffer(1));
    assertThat(harness.lastSent()).containsExactly(first);
    assertThat(harness.lastActions(WorkerAction.StartProcess.class)).isEmpty();

    harness.processEnds(job, 0);
    Message.Ended ended = harness.sentOn(session, Message.Ended.class).getFirst();
    harness.offer(session, anOffer(1));
    assertThat(harness.lastSent()).containsExactly(ended);
    assertThat(harness.lastActions(WorkerAction.StartProcess.class)).isEmpty();
  }

  @Test
  void aRepeatedOfferOfAJobStillStartingIsLeftToTheLaunchersReport() {
    harness.offer(session, anOffer(1));

    harness.offer(session, anOffer(1));

    assertThat(harness.last).isEmpty();
  }

  @Test
  void anOfferOfANewAttemptKillsTheOlderOneAndIsDeclinedForNow() {
    AttemptRef old = running(anOffer(9));

    harness.offer(session, anOffer(9).attempt(2));

    assertThat(harness.lastKills()).containsExactly(old);
    Message.Declined declined = (Message.Declined) harness.lastSent().getFirst();
    assertThat(declined.attempt()).isEqualTo(2);
    assertThat(declined.permanent()).isFalse();
    assertThat(declined.reason())
        .isEqualTo("attempt 1 of this job is still stopping on test-worker");
    assertThat(harness.lastActions(WorkerAction.StartProcess.class)).isEmpty();
  }

  @Test
  void offersBeyondTheFreeSlotsAreDeclinedForNow() {
    running(anOffer(1).slots(3));

    harness.offer(session, anOffer(2).slots(2));

    assertThat(harness.lastSent())
        .containsExactly(
            new Message.Declined(2, 1, false, "no free job slots on test-worker (3 of 4 used)"));
    harness.offer(session, anOffer(3).slots(1));
    assertThat(harness.lastActions(WorkerAction.StartProcess.class)).hasSize(1);
  }

  @Test
  void anOfferOfAGpuThatJobsHereStillUseIsDeclinedForNowAndHalvesShareOne() {
    running(anOffer(1).gpus(1, 0, 1));
    running(anOffer(2).gpus(0.5, 2));
    harness.offer(session, anOffer(3).gpus(0.5, 2));
    assertThat(harness.lastActions(WorkerAction.StartProcess.class))
        .extracting(WorkerAction.StartProcess::devices)
        .containsExactly(Map.of("gpus", List.of(2)));

    harness.offer(session, anOffer(4).gpus(1, 1));
    assertThat(harness.lastSent())
        .containsExactly(
            new Message.Declined(4, 1, false, "GPU 1 on test-worker is still used by job 1"));
    harness.offer(session, anOffer(5).gpus(0.25, 2));
    assertThat(harness.lastSent())
        .containsExactly(
            new Message.Declined(
                5, 1, false, "GPU 2 on test-worker is still used by job 2, job 3"));
    harness.offer(session, anOffer(6).gpus(1, 3));
    assertThat(harness.lastActions(WorkerAction.StartProcess.class)).hasSize(1);
  }

  @Test
  void anOfferForAMissingDirectoryOrWithoutAJobIsDeclinedForGood() {
    harness.offer(session, anOffer(1).inMissingDirectory());
    assertThat(harness.lastSent())
        .containsExactly(
            new Message.Declined(
                1, 1, true, "working directory /not/here does not exist on test-worker"));

    harness.offer(session, anOffer(2).withoutJob());
    assertThat(harness.lastSent())
        .containsExactly(new Message.Declined(2, 1, true, "the offer carries no job"));
    assertThat(harness.core.slotsUsed()).isZero();
  }

  @Test
  void aKillFromTheServerKillsTheJobAndItsEndIsReported() {
    AttemptRef job = running(anOffer(1));
    harness.kill(session, new AttemptRef(99, 1));
    assertThat(harness.lastKills()).isEmpty();

    harness.kill(session, job);
    assertThat(harness.lastKills()).containsExactly(job);

    harness.processEnds(job, 0);
    Message.Ended ended = (Message.Ended) harness.lastSent().getFirst();
    assertThat(ended.outcome().signal()).isEqualTo(15);
  }

  @Test
  void aKillWhileTheProcessIsStartingIsRepeatedOnceItRuns() {
    harness.offer(session, anOffer(1));
    harness.kill(session, new AttemptRef(1, 1));

    harness.processRuns(new AttemptRef(1, 1));

    assertThat(harness.lastKills()).containsExactly(new AttemptRef(1, 1));
  }

  @Test
  void aStopKillsEveryJobDeclinesNewOffersAndReleasesTheJobsInsteadOfReportingThem() {
    AttemptRef first = running(anOffer(1));
    harness.offer(session, anOffer(2));
    AttemptRef second = new AttemptRef(2, 1);

    harness.stop();
    assertThat(harness.lastKills()).containsExactlyInAnyOrder(first, second);

    harness.offer(session, anOffer(3));
    assertThat(harness.lastSent())
        .containsExactly(new Message.Declined(3, 1, false, "worker test-worker is shutting down"));

    harness.processEnds(first, 0);
    harness.processRuns(second);
    assertThat(harness.lastKills()).containsExactly(second);
    harness.processEnds(second, 0);
    assertThat(harness.sentOn(session, Message.Ended.class)).isEmpty();

    harness.stopWaitOver();
    assertThat(harness.lastSent())
        .containsExactly(
            new Message.Released(1, 1, "worker test-worker stopped"),
            new Message.Released(2, 1, "worker test-worker stopped"));
    assertThat(harness.lastActions(WorkerAction.CloseConnection.class)).hasSize(1);
  }

  @Test
  void aConnectionMadeWhileStoppingIsClosedWithoutRegistering() {
    harness.lose(session);
    harness.stop();

    long next = harness.connect();

    assertThat(harness.lastActions(WorkerAction.CloseConnection.class))
        .containsExactly(new WorkerAction.CloseConnection(next));
    assertThat(harness.sentOn(next, Message.Register.class)).isEmpty();
  }

  @Test
  void resultsThatEndWhileAwayAreCarriedByTheNextRegistrationAndTheRunningJobsClaimed() {
    AttemptRef ended = running(anOffer(20));
    AttemptRef stillRunning = running(anOffer(21));
    harness.lose(session);

    harness.processEnds(ended, 0);
    assertThat(harness.lastSent()).isEmpty();

    long next = harness.connect();
    Message.Register register = harness.registrationOf(next);
    assertThat(register.running()).containsExactly(stillRunning);
    assertThat(register.ended()).extracting(Message.Ended::jobId).containsExactly(20L);
    assertThat(register.environmentSlots()).isEqualTo(WorkerCore.ENVIRONMENT_SLOTS);

    harness.register(next, 2);
    assertThat(harness.lastSent()).isEmpty();
    assertThat(harness.core.workerId()).isEqualTo(2);
  }

  @Test
  void aResultThatEndsBetweenRegisterAndRegisteredIsSentAfterRegistered() {
    AttemptRef job = running(anOffer(1));
    harness.lose(session);
    long next = harness.connect();

    harness.processEnds(job, 0);
    assertThat(harness.lastSent()).as("not before the registration is answered").isEmpty();

    harness.register(next, 2);
    assertThat(harness.lastSent()).singleElement().isInstanceOf(Message.Ended.class);
  }

  @Test
  void resultsBeyondTheRegistrationsBudgetAreListedAsRunningAndSentAfterIt() {
    String big = "x".repeat(WorkerCore.MAX_REGISTER_ENDED_BYTES / 3);
    for (long job = 1; job <= 4; job++) {
      harness.offer(session, anOffer(job));
      harness.processEndsWith(
          new AttemptRef(job, 1),
          new JobResult(
              new JobOutcome(0, null, null, harness.instant(), harness.instant()),
              new CapturedOutput(big, 0),
              CapturedOutput.EMPTY));
    }
    harness.lose(session);

    long next = harness.connect();
    Message.Register register = harness.registrationOf(next);

    assertThat(MessageCodec.encode(register).length)
        .isLessThanOrEqualTo(WorkerCore.MAX_REGISTER_ENDED_BYTES + 64 * 1024);
    assertThat(register.ended()).hasSize(2);
    assertThat(register.running()).hasSize(2);
    harness.register(next, 2);
    assertThat(harness.lastSent()).hasSize(2).allMatch(m -> m instanceof Message.Ended);
  }

  @Test
  void oversizedOutputIsShortenedToFitIntoOneMessage() {
    String big = "y".repeat(6_000_000);
    harness.offer(session, anOffer(1));

    harness.processEndsWith(
        new AttemptRef(1, 1),
        new JobResult(
            new JobOutcome(0, null, null, null, harness.instant()),
            new CapturedOutput(big, 0),
            new CapturedOutput(big, 0)));

    Message.Ended ended = (Message.Ended) harness.lastSent().getFirst();
    assertThat(MessageCodec.encode(ended).length)
        .isLessThanOrEqualTo(MessageCodec.MAX_MESSAGE_BYTES / 2);
  }

  @Test
  void failuresAndUnexpectedMessagesAreLoggedAndCountAsContact() {
    harness.advance(harness.limits.killJobsAfter().minusSeconds(1));
    harness.other(session, new Message.Failure("busy", "try later"));
    assertThat(harness.lastActions(WorkerAction.Log.class))
        .singleElement()
        .extracting(WorkerAction.Log::text)
        .isEqualTo("server reported a failure (busy): try later");

    harness.other(session, new Message.Registered(5));
    assertThat(harness.lastActions(WorkerAction.Log.class)).hasSize(1);
    assertThat(harness.core.lastContact()).isEqualTo(harness.now);
  }
}
