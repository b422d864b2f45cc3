package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import kueue.model.JobUpdate;
import org.junit.jupiter.api.Test;

/** update-job with a new time limit or retry count, for jobs that have not started. */
class UpdateJobTest {

  @Test
  void newRetriesForAPendingJobAreRecordedAndUsed() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());

    harness.update(List.of(job), new JobUpdate(null, null, 60L, 1));

    assertThat(harness.last.events())
        .containsExactly(new Event.JobUpdated(job, null, 60L, 1, SchedulerHarness.START));
    harness.connect(aWorker());
    harness.endCurrent(job, 1);
    assertThat(harness.events(Event.JobRetried.class))
        .singleElement()
        .satisfies(e -> assertThat(e.retries()).isEqualTo(1));
    harness.endCurrent(job, 1);
    assertThat(harness.events(Event.JobEnded.class)).hasSize(1);
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void zeroRetriesTakeAwayTheRetriesOfAHeldJob() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob().retries(3).held());

    harness.update(List.of(job), new JobUpdate(false, null, null, 0));
    harness.endCurrent(job, 1);

    assertThat(harness.events(Event.JobRetried.class)).isEmpty();
    assertThat(harness.events(Event.JobEnded.class)).hasSize(1);
  }

  @Test
  void aJobThatHasStartedIsSkippedAndKeepsItsRetries() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long started = harness.submitOne(aJob().retries(1));
    harness.startCurrent(started);

    harness.update(List.of(started), new JobUpdate(null, null, 30L, 0));

    assertThat(harness.last.events()).isEmpty();
    assertThat(SchedulerHarness.only(harness.last, Effect.JobsUpdated.class).skipped())
        .containsExactly("job " + started + " has started");
    harness.endCurrent(started, 1);
    assertThat(harness.events(Event.JobRetried.class)).hasSize(1);
  }

  @Test
  void negativeValuesChangeNothing() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());

    harness.update(List.of(job), new JobUpdate(null, null, null, -1));

    assertThat(harness.last.events()).isEmpty();
    assertThat(SchedulerHarness.only(harness.last, Effect.JobsUpdated.class).skipped())
        .containsExactly("job " + job + " not changed: retries must not be negative (got -1)");
  }
}
