package kueue.worker;

import static kueue.worker.WorkerCoreHarness.anOffer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import kueue.model.AttemptRef;
import kueue.protocol.Message;
import org.junit.jupiter.api.Test;

/** The worker stops a job at its time limit by itself, with the time as an argument. */
class TimeLimitTest {
  private final WorkerCoreHarness harness = WorkerCoreHarness.create();
  private final long session = harness.connectAndRegister();

  private AttemptRef runningJob(long jobId, long limitSeconds) {
    harness.offer(session, anOffer(jobId).timeLimitSeconds(limitSeconds));
    AttemptRef ref = new AttemptRef(jobId, 1);
    harness.processRuns(ref);
    return ref;
  }

  /** Keeps the server's contact alive while time passes, in steps of one second. */
  private void pass(Duration duration) {
    for (long s = 0; s < duration.toSeconds(); s++) {
      harness.advance(Duration.ofSeconds(1));
      harness.heartbeatAck(session);
      harness.tick();
    }
  }

  private List<WorkerAction.SignalProcess> signals() {
    return harness.lastActions(WorkerAction.SignalProcess.class);
  }

  @Test
  void aJobGetsTermAtItsLimitThenKillAfterTheGracePeriodAndIsReportedAsTimedOut() {
    AttemptRef job = runningJob(1, 5);

    pass(Duration.ofSeconds(4));
    assertThat(harness.terminated).isEmpty();

    pass(Duration.ofSeconds(1));
    assertThat(signals()).containsExactly(new WorkerAction.SignalProcess(job, false));

    pass(WorkerCoreHarness.TIME_LIMIT_GRACE.minusSeconds(1));
    assertThat(harness.forced).isEmpty();
    pass(Duration.ofSeconds(1));
    assertThat(signals()).containsExactly(new WorkerAction.SignalProcess(job, true));

    harness.processEnds(job, 0);
    Message.Ended ended = harness.sentOn(session, Message.Ended.class).getFirst();
    assertThat(ended.outcome().timedOut()).isTrue();
    assertThat(ended.outcome().signal()).isEqualTo(15);
  }

  @Test
  void aJobThatEndsOnTermGetsNoKill() {
    AttemptRef job = runningJob(1, 2);
    pass(Duration.ofSeconds(2));
    assertThat(harness.terminated).containsKey(job);

    harness.processEnds(job, 0);
    pass(WorkerCoreHarness.TIME_LIMIT_GRACE.plusSeconds(2));

    assertThat(harness.forced).isEmpty();
    assertThat(harness.sentOn(session, Message.Ended.class).getFirst().outcome().timedOut())
        .isTrue();
  }

  @Test
  void theLimitHoldsWhileTheServerIsAway() {
    AttemptRef job = runningJob(1, 3);
    harness.lose(session);

    // Below half the worker timeout, so the jobs are not given up for lost contact.
    for (int s = 0; s < 3; s++) {
      harness.advance(Duration.ofSeconds(1));
      harness.refused();
      harness.tick();
    }

    assertThat(harness.terminated).containsKey(job);
    harness.processEnds(job, 0);
    assertThat(harness.core.unconfirmed().get(job).outcome().timedOut())
        .as("kept for the next registration, marked as timed out")
        .isTrue();
    long next = harness.connect();
    assertThat(harness.registrationOf(next).ended())
        .singleElement()
        .satisfies(ended -> assertThat(ended.outcome().timedOut()).isTrue());
  }

  @Test
  void aJobWithinItsLimitOrWithoutOneIsLeftAlone() {
    AttemptRef limited = runningJob(1, 60);
    harness.offer(session, anOffer(2));
    harness.processRuns(new AttemptRef(2, 1));

    pass(Duration.ofSeconds(30));
    harness.processEnds(limited, 0);
    harness.processEnds(new AttemptRef(2, 1), 0);

    assertThat(harness.terminated).isEmpty();
    assertThat(harness.sentOn(session, Message.Ended.class))
        .allSatisfy(ended -> assertThat(ended.outcome().timedOut()).isFalse());
  }

  @Test
  void aJobAtItsLimitWhenTheWorkerStopsIsReportedAsTimedOutNotReleased() {
    AttemptRef job = runningJob(1, 2);
    pass(Duration.ofSeconds(2));
    harness.stop();

    harness.processEnds(job, 0);
    harness.stopWaitOver();

    assertThat(harness.sentOn(session, Message.Released.class)).isEmpty();
    assertThat(harness.sentOn(session, Message.Ended.class))
        .singleElement()
        .satisfies(ended -> assertThat(ended.outcome().timedOut()).isTrue());
  }

  @Test
  void aJobKilledForAnotherReasonIsNotTimedOut() {
    AttemptRef job = runningJob(1, 3);
    harness.kill(session, job);

    pass(Duration.ofSeconds(4));

    assertThat(harness.terminated).isEmpty();
    harness.processEnds(job, 0);
    assertThat(harness.sentOn(session, Message.Ended.class).getFirst().outcome().timedOut())
        .isFalse();
  }
}
