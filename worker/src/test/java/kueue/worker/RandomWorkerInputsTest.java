package kueue.worker;

import static kueue.worker.WorkerCoreHarness.anOffer;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import kueue.model.AttemptRef;
import kueue.protocol.Message;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Thousands of random inputs in any order the shell can produce them (offers new, repeated and
 * superseding, processes starting and ending, kills, confirmations, connections lost, refused and
 * made again, silence long enough to give jobs up, jobs running past their time limits, and a stop
 * at the end), with the harness checking the worker's promises after every step.
 */
class RandomWorkerInputsTest {
  private static final int STEPS = 8000;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void randomInputsNeverBreakTheWorkersPromises(long seed) {
    Random random = new Random(seed);
    WorkerCoreHarness harness = new WorkerCoreHarness(1 + random.nextInt(6));
    long session = harness.connectAndRegister();
    List<AttemptRef> confirmable = new ArrayList<>();

    for (int step = 0; step < STEPS; step++) {
      boolean stopping = step > STEPS * 9 / 10;
      if (stopping && !harness.core.stopping()) {
        harness.stop();
        continue;
      }
      int dice = random.nextInt(100);
      if (dice < 25) {
        if (session != WorkerCore.NONE) {
          harness.offer(session, randomOffer(random, harness));
        }
      } else if (dice < 37) {
        if (!harness.starting.isEmpty()) {
          AttemptRef ref = pick(random, new ArrayList<>(harness.starting));
          switch (random.nextInt(4)) {
            case 0 -> harness.processEnds(ref, random.nextInt(3));
            case 1 -> harness.processFailsToStart(ref);
            default -> harness.processRuns(ref);
          }
        }
      } else if (dice < 52) {
        if (!harness.running.isEmpty()) {
          harness.processEnds(pick(random, new ArrayList<>(harness.running)), random.nextInt(3));
        }
      } else if (dice < 56) {
        if (session != WorkerCore.NONE) {
          List<AttemptRef> held = new ArrayList<>(harness.core.attempts().keySet());
          AttemptRef target =
              held.isEmpty() || random.nextInt(5) == 0
                  ? new AttemptRef(1000 + random.nextInt(5), 1)
                  : pick(random, held);
          harness.kill(session, target);
        }
      } else if (dice < 66) {
        if (session != WorkerCore.NONE) {
          confirmable.clear();
          confirmable.addAll(harness.core.unconfirmed().keySet());
          if (!confirmable.isEmpty()) {
            harness.resultStored(session, pick(random, confirmable));
          } else {
            harness.resultStored(session, new AttemptRef(2000, 1));
          }
        }
      } else if (dice < 76) {
        if (session != WorkerCore.NONE) {
          if (random.nextInt(3) == 0) {
            List<AttemptRef> known =
                new ArrayList<>(
                    harness.running.isEmpty() ? harness.core.attempts().keySet() : harness.running);
            harness.outputRequested(
                session,
                known.isEmpty() || random.nextInt(4) == 0
                    ? new AttemptRef(3000, 1)
                    : pick(random, known));
          } else {
            harness.heartbeatAck(session);
          }
        }
      } else if (dice < 78) {
        if (session != WorkerCore.NONE) {
          harness.other(
              session,
              random.nextBoolean()
                  ? new Message.Failure("internal", "something broke")
                  : new Message.Registered(3));
        }
      } else if (dice < 82) {
        if (session != WorkerCore.NONE) {
          harness.lose(session);
          session = WorkerCore.NONE;
        } else if (random.nextInt(3) == 0) {
          harness.refused();
        } else {
          long next = harness.connect();
          if (random.nextInt(4) == 0) {
            harness.lose(next); // handshake, then nothing
          } else if (harness.core.connectedSession() == next) {
            harness.register(next, next);
            session = next;
          } else {
            harness.lose(next); // closed by the stop
          }
        }
      } else if (dice < 84) {
        if (session != WorkerCore.NONE) {
          harness.lose(session);
        }
        session = WorkerCore.NONE;
        harness.refused();
      } else {
        // Mostly short steps; now and then a silence long enough to lose the jobs.
        Duration passed =
            random.nextInt(12) == 0
                ? WorkerCoreHarness.WORKER_TIMEOUT.dividedBy(2 + random.nextInt(2))
                : Duration.ofMillis(random.nextInt(2000));
        harness.advance(passed);
        harness.tick();
      }
    }
    // Let the stop end: every process ends, and the stop's wait is over.
    for (AttemptRef ref : new ArrayList<>(harness.starting)) {
      harness.processRuns(ref);
    }
    for (AttemptRef ref : new ArrayList<>(harness.running)) {
      harness.processEnds(ref, 0);
    }
    harness.stopWaitOver();
    assertThat(harness.core.attempts()).isEmpty();

    assertThat(harness.seen)
        .as("every kind of input, action and message was exercised")
        .contains(
            WorkerInput.Connected.class,
            WorkerInput.Registered.class,
            WorkerInput.ConnectionLost.class,
            WorkerInput.ConnectionRefused.class,
            WorkerInput.OfferReceived.class,
            WorkerInput.KillReceived.class,
            WorkerInput.ResultStoredReceived.class,
            WorkerInput.OtherReceived.class,
            WorkerInput.OutputRequested.class,
            WorkerInput.ProcessStarted.class,
            WorkerInput.ProcessEnded.class,
            WorkerInput.Tick.class,
            WorkerInput.StopRequested.class,
            WorkerInput.StopWaitOver.class,
            WorkerAction.Send.class,
            WorkerAction.StartProcess.class,
            WorkerAction.KillProcess.class,
            WorkerAction.SignalProcess.class,
            WorkerAction.Log.class,
            WorkerAction.AnswerOutput.class,
            Message.Output.class,
            Message.Register.class,
            Message.Started.class,
            Message.Ended.class,
            Message.Declined.class);
    assertThat(harness.core.lostAttempts()).isEmpty();
  }

  private long nextJob = 1;

  private WorkerCoreHarness.OfferBuilder randomOffer(Random random, WorkerCoreHarness harness) {
    int kind = random.nextInt(20);
    List<AttemptRef> known = new ArrayList<>(harness.core.attempts().keySet());
    known.addAll(harness.core.unconfirmed().keySet());
    if (kind < 3 && !known.isEmpty()) {
      AttemptRef ref = pick(random, known);
      return anOffer(ref.jobId()).attempt(ref.attempt()); // repeated
    }
    if (kind < 5 && !known.isEmpty()) {
      // The server gave that attempt up and offers the next one.
      long jobId = pick(random, known).jobId();
      int latest =
          harness.everStarted.stream()
              .filter(ref -> ref.jobId() == jobId)
              .mapToInt(AttemptRef::attempt)
              .max()
              .orElse(1);
      return anOffer(jobId).attempt(latest + 1);
    }
    WorkerCoreHarness.OfferBuilder offer = anOffer(nextJob++).slots(1 + random.nextInt(2));
    if (kind == 5) {
      offer.inMissingDirectory();
    } else if (kind == 6) {
      offer.withoutJob();
    } else if (kind < 13) {
      offer.timeLimitSeconds(1 + random.nextInt(3));
    } else if (kind < 16) {
      // GPUs that may well be held here already: such offers must be declined.
      offer.gpus(random.nextBoolean() ? 1 : 0.5, random.nextInt(3));
    }
    return offer;
  }

  private static <T> T pick(Random random, List<T> items) {
    return items.get(random.nextInt(items.size()));
  }
}
