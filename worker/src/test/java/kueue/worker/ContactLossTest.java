package kueue.worker;

import static kueue.worker.WorkerCoreHarness.anOffer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import kueue.model.AttemptRef;
import kueue.protocol.Message;
import org.junit.jupiter.api.Test;

/**
 * The worker's half of "never two attempts at once" (docs/RECOVERY.md), on the core with a clock
 * moved by hand: with T the worker timeout, no contact for T/2 kills every job, whose results are
 * then dropped; a refused connection and a registration count as contact, a handshake does not.
 */
class ContactLossTest {
  private final WorkerCoreHarness harness = WorkerCoreHarness.create();
  private final Duration halfTimeout = WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(2);
  private final Duration checkPeriod = harness.limits.checkPeriod();
  private final long session = harness.connectAndRegister();

  private AttemptRef runningJob(long jobId) {
    harness.offer(session, anOffer(jobId));
    harness.processRuns(new AttemptRef(jobId, 1));
    return new AttemptRef(jobId, 1);
  }

  /** Moves the clock by d in steps of the contact check, checking at each. */
  private void passWithChecks(Duration d) {
    for (Duration passed = Duration.ZERO;
        passed.compareTo(d) < 0;
        passed = passed.plus(checkPeriod)) {
      harness.advance(checkPeriod);
      harness.tick();
    }
  }

  @Test
  void halfTheTimeoutIsFixedByTheWorkerTimeout() {
    assertThat(harness.limits.killJobsAfter()).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void noContactForHalfTheTimeoutKillsEveryJob() {
    AttemptRef first = runningJob(1);
    harness.offer(session, anOffer(2)); // still starting: killed once its process is there
    AttemptRef starting = new AttemptRef(2, 1);
    harness.lose(session);

    harness.advance(halfTimeout.minusNanos(1));
    harness.tick();
    assertThat(harness.lastKills()).as("just before T/2").isEmpty();

    harness.advance(Duration.ofNanos(1));
    harness.tick();
    assertThat(harness.lastKills()).containsExactlyInAnyOrder(first, starting);
    assertThat(harness.core.lostAttempts()).containsExactlyInAnyOrder(first, starting);
    assertThat(harness.lastActions(WorkerAction.Log.class))
        .extracting(WorkerAction.Log::text)
        .containsExactly(
            "no contact with server server:1 for 10000 ms: killing 2 job(s), the server will run"
                + " them again");

    harness.processRuns(starting);
    assertThat(harness.lastKills()).containsExactly(starting);
    assertThat(harness.lastSent()).as("no start reported for a job given up").isEmpty();

    harness.advance(checkPeriod);
    harness.tick();
    assertThat(harness.lastKills()).as("each job is killed once").isEmpty();
  }

  @Test
  void messagesOnTheRegisteredConnectionKeepTheJobsAlive() {
    AttemptRef job = runningJob(1);

    for (int i = 0; i < 40; i++) {
      passWithChecks(WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(8));
      harness.heartbeatAck(session);
    }

    assertThat(harness.killed).isEmpty();
    assertThat(harness.core.runningAttempts()).containsExactly(job);
  }

  @Test
  void aSilentConnectionIsNoContactEvenWhileItStaysOpen() {
    AttemptRef job = runningJob(1);

    passWithChecks(halfTimeout);

    assertThat(harness.killed).containsExactly(job);
  }

  @Test
  void aRefusedConnectionCountsAsContact() {
    AttemptRef job = runningJob(1);
    harness.lose(session);

    passWithChecks(halfTimeout.minus(checkPeriod));
    harness.refused();
    passWithChecks(halfTimeout.minus(checkPeriod));

    assertThat(harness.killed).isEmpty();
    passWithChecks(checkPeriod);
    assertThat(harness.killed).containsExactly(job);
  }

  @Test
  void aHandshakeAloneIsNotContactButARegistrationIs() {
    AttemptRef job = runningJob(1);
    harness.lose(session);

    for (int i = 0; i < 3; i++) {
      passWithChecks(WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(8));
      long unanswered = harness.connect();
      harness.lose(unanswered);
    }
    passWithChecks(WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(8));
    assertThat(harness.killed)
        .as("handshakes at T/8 intervals keep nothing alive")
        .containsExactly(job);

    WorkerCoreHarness other = WorkerCoreHarness.create();
    long first = other.connectAndRegister();
    other.offer(first, anOffer(1));
    other.processRuns(new AttemptRef(1, 1));
    other.lose(first);
    for (int i = 0; i < 10; i++) {
      for (int check = 0; check < 8; check++) {
        other.advance(WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(8 * 4));
        other.tick();
      }
      long again = other.connectAndRegister();
      other.lose(again);
    }
    assertThat(other.killed).as("a registration every T/4 is contact").isEmpty();
  }

  @Test
  void resultsOfJobsKilledForLostContactAreDroppedAndNeverReportedOrClaimed() {
    AttemptRef job = runningJob(7);
    AttemptRef other = runningJob(8);
    harness.lose(session);
    passWithChecks(halfTimeout);

    harness.processEnds(job, 0);
    assertThat(harness.lastSent()).isEmpty();
    assertThat(harness.core.unconfirmed()).isEmpty();
    assertThat(harness.lastActions(WorkerAction.Log.class))
        .extracting(WorkerAction.Log::text)
        .containsExactly(
            "job 7 attempt 1 was killed after contact with the server was lost; the server runs it"
                + " again");

    long back = harness.connect();
    Message.Register register = harness.registrationOf(back);
    assertThat(register.running()).as("still dying, but not claimed").isEmpty();
    assertThat(register.ended()).isEmpty();
    harness.register(back, 2);
    harness.processEnds(other, 0);
    assertThat(harness.sentOn(back, Message.Ended.class)).isEmpty();
    assertThat(harness.core.runningAttempts()).isEmpty();
  }

  @Test
  void jobsKeepRunningThroughAServerRestartWhileConnectionsAreRefused() {
    AttemptRef job = runningJob(8);
    harness.lose(session);

    // A server down for ten times the timeout; the worker retries at most every T/8.
    for (int i = 0; i < 80; i++) {
      passWithChecks(harness.limits.maxBackoff());
      harness.refused();
    }

    assertThat(harness.killed).isEmpty();
    long back = harness.connect();
    assertThat(harness.registrationOf(back).running()).containsExactly(job);
    harness.register(back, 2);
    harness.processEnds(job, 0);
    assertThat(harness.sentOn(back, Message.Ended.class)).hasSize(1);
  }

  @Test
  void aStoppingWorkerLeavesItsJobsToTheStopAndNotToTheContactCheck() {
    AttemptRef job = runningJob(1);
    harness.stop();
    harness.lose(session);

    passWithChecks(halfTimeout.multipliedBy(2));

    assertThat(harness.core.lostAttempts()).isEmpty();
    harness.processEnds(job, 0);
    assertThat(harness.core.released()).containsExactly(job);
  }
}
