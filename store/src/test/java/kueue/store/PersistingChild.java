package kueue.store;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import kueue.core.Event;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;

/**
 * Run in a child JVM by {@link CrashSafetyTest}: persists batches until killed, printing "committed
 * FIRST LAST" after each persist returns. Each batch queues ten jobs and runs the previous batch's
 * ten to completion with captured output.
 */
public final class PersistingChild {

  static final int JOBS_PER_BATCH = 10;

  private PersistingChild() {}

  public static void main(String[] args) {
    try (SqliteJobStore store = SqliteJobStore.open(Path.of(args[0]))) {
      long previousFirst = -1;
      for (int batch = 0; ; batch++) {
        long first = store.nextJobId();
        List<Event> events = new ArrayList<>();
        for (long id = first; id < first + JOBS_PER_BATCH; id++) {
          events.add(Jobs.queued(id, batch));
        }
        if (previousFirst > 0) {
          for (long id = previousFirst; id < previousFirst + JOBS_PER_BATCH; id++) {
            events.add(Jobs.offered(id, 1, "w1", batch));
            events.add(Jobs.started(id, 1, batch));
            events.add(
                new Event.JobEnded(
                    id,
                    1,
                    new JobOutcome(0, null, null, Jobs.at(batch), Jobs.at(batch + 0.5)),
                    new CapturedOutput(outputOf(id), 0),
                    CapturedOutput.EMPTY,
                    Jobs.at(batch + 0.5)));
          }
        }
        store.persist(events);
        System.out.println("committed " + first + " " + (first + JOBS_PER_BATCH - 1));
        System.out.flush();
        previousFirst = first;
      }
    }
  }

  static String outputOf(long jobId) {
    return "output of job " + jobId + "\n".repeat(3);
  }
}
