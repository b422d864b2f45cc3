package kueue.client;

import java.time.Instant;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;

/** Job summaries for tests, built from a few readable facts. */
final class Jobs {
  static final Instant SUBMITTED = Instant.parse("2026-11-25T09:00:00Z");
  static final Instant STARTED = Instant.parse("2026-11-25T09:01:00Z");
  static final Instant ENDED = Instant.parse("2026-11-25T09:02:12Z");

  private Jobs() {}

  static JobSummary pending(long id) {
    return job(id, JobState.PENDING, null, null, null, null, null, "no worker has 4 free CPUs");
  }

  static JobSummary running(long id) {
    return job(id, JobState.RUNNING, "ralab04", STARTED, null, null, null, null);
  }

  static JobSummary finished(long id, int exitCode) {
    return job(id, JobState.FINISHED, "ralab04", STARTED, ENDED, exitCode, null, null);
  }

  static JobSummary killed(long id, int signal) {
    return job(id, JobState.FINISHED, "ralab04", STARTED, ENDED, null, signal, null);
  }

  static JobSummary notStarted(long id, String reason) {
    return job(id, JobState.FINISHED, "ralab04", null, ENDED, null, null, reason);
  }

  static JobSummary timedOut(long id) {
    return job(
        id, JobState.TIMED_OUT, "ralab04", STARTED, ENDED, null, 15, "stopped at its time limit");
  }

  static JobSummary canceled(long id) {
    return job(id, JobState.CANCELED, null, null, ENDED, null, null, null);
  }

  static JobSummary job(
      long id,
      JobState state,
      String worker,
      Instant started,
      Instant ended,
      Integer exitCode,
      Integer signal,
      String note) {
    return JobSummaryBuilder.builder()
        .id(id)
        .state(state)
        .command("./train.py --lr 0.1")
        .cwd("/home/ada/experiments/run" + id)
        .slots(1)
        .cpus(2)
        .ramMb(1024)
        .attempt(1)
        .worker(worker)
        .submitted(SUBMITTED)
        .started(started)
        .ended(ended)
        .exitCode(exitCode)
        .signal(signal)
        .note(note)
        .build();
  }
}
