package kueue.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobTransition;

/**
 * A state change decided by the scheduler. The server persists events before it sends any effect of
 * the same batch, so nothing is acknowledged that a crash could lose. Each event names one job
 * (except FinishedJobsExpired) and is also a line of that job's history.
 */
public sealed interface Event {

  /** The move of its job's state that the event records; null for an event that moves none. */
  static JobTransition transitionOf(Event event) {
    return switch (event) {
      case JobQueued e -> JobTransition.QUEUED;
      case JobOffered e -> JobTransition.OFFERED;
      case JobDeclined e -> JobTransition.DECLINED;
      case JobStarted e -> JobTransition.STARTED;
      case JobEnded e -> JobTransition.ENDED;
      case JobRequeued e -> JobTransition.REQUEUED;
      case JobCanceled e -> JobTransition.CANCELED;
      case JobFailed e -> JobTransition.FAILED;
      case JobTimedOut e -> JobTransition.TIMED_OUT;
      case JobRetried e -> JobTransition.RETRIED;
      case JobHeld e -> JobTransition.HELD;
      case JobReleased e -> JobTransition.RELEASED;
      case JobBlocked e -> JobTransition.BLOCKED;
      case JobUnblocked e -> JobTransition.UNBLOCKED;
      case JobUpdated e -> null;
      case JobRerun e -> JobTransition.RERUN;
      case FinishedJobsExpired e -> null;
    };
  }

  /** The job the event is about; -1 for an event about no single job. */
  public static long jobIdOf(Event event) {
    return switch (event) {
      case JobQueued e -> e.jobId();
      case JobOffered e -> e.jobId();
      case JobDeclined e -> e.jobId();
      case JobStarted e -> e.jobId();
      case JobEnded e -> e.jobId();
      case JobRequeued e -> e.jobId();
      case JobCanceled e -> e.jobId();
      case JobFailed e -> e.jobId();
      case JobTimedOut e -> e.jobId();
      case JobRetried e -> e.jobId();
      case JobHeld e -> e.jobId();
      case JobReleased e -> e.jobId();
      case JobBlocked e -> e.jobId();
      case JobUnblocked e -> e.jobId();
      case JobUpdated e -> e.jobId();
      case JobRerun e -> e.jobId();
      case FinishedJobsExpired e -> -1;
    };
  }

  /** New job with its id; the only event that carries the full spec. State PENDING, attempt 0. */
  record JobQueued(long jobId, JobSpec spec, Instant at) implements Event {}

  /**
   * PENDING -> OFFERED, as attempt number attempt (1 for the first placement), with the indices of
   * the worker's devices the attempt gets, by resource name (empty for a job that needs none).
   */
  record JobOffered(
      long jobId,
      int attempt,
      long workerId,
      String workerName,
      Instant at,
      Map<String, List<Integer>> devices)
      implements Event {

    public JobOffered {
      devices = devices == null ? Map.of() : devices;
    }

    public JobOffered(long jobId, int attempt, long workerId, String workerName, Instant at) {
      this(jobId, attempt, workerId, workerName, at, Map.of());
    }
  }

  /** OFFERED -> PENDING: the worker would not take it (history only for the reason). */
  record JobDeclined(long jobId, int attempt, String workerName, String reason, Instant at)
      implements Event {}

  /** OFFERED -> RUNNING. */
  record JobStarted(long jobId, int attempt, Instant at) implements Event {}

  /** RUNNING (or OFFERED) -> FINISHED with the result of this attempt. */
  record JobEnded(
      long jobId,
      int attempt,
      JobOutcome outcome,
      CapturedOutput stdout,
      CapturedOutput stderr,
      Instant at)
      implements Event {}

  /** OFFERED/RUNNING -> PENDING because the attempt was lost (worker gone, offer expired). */
  record JobRequeued(long jobId, int lostAttempt, String reason, Instant at) implements Event {}

  /** Any non-terminal state -> CANCELED. */
  record JobCanceled(long jobId, String reason, Instant at) implements Event {}

  /** Gave up on a job (e.g. too many lost attempts): FINISHED without exit code, with reason. */
  record JobFailed(long jobId, String reason, Instant at) implements Event {}

  /** RUNNING (or OFFERED) -> TIMED_OUT: the worker stopped the attempt at the job's time limit. */
  record JobTimedOut(
      long jobId,
      int attempt,
      JobOutcome outcome,
      CapturedOutput stdout,
      CapturedOutput stderr,
      Instant at)
      implements Event {}

  /**
   * RUNNING (or OFFERED) -> PENDING: the attempt did not succeed and the job runs again, as its
   * retry number retry of retries allowed; it may be offered from notBefore on. The attempt's
   * result stays in the history.
   */
  record JobRetried(
      long jobId,
      int attempt,
      JobOutcome outcome,
      CapturedOutput stdout,
      CapturedOutput stderr,
      int retry,
      int retries,
      Instant notBefore,
      Instant at)
      implements Event {}

  /** PENDING or WAITING -> HELD: a user held it, or it was submitted held. */
  record JobHeld(long jobId, Instant at) implements Event {}

  /** HELD -> PENDING: a user released it and nothing else keeps it back. */
  record JobReleased(long jobId, Instant at) implements Event {}

  /**
   * PENDING or HELD -> WAITING: just submitted with dependencies not yet met, or released from a
   * hold before they were.
   */
  record JobBlocked(long jobId, Instant at) implements Event {}

  /** WAITING -> PENDING: its last dependency was met. */
  record JobUnblocked(long jobId, Instant at) implements Event {}

  /**
   * A job that has not started was changed (no state move); only the fields that are not null
   * change. A time limit of 0 removes the limit, retries of 0 remove retries.
   */
  record JobUpdated(
      long jobId, Integer priority, Long timeLimitSeconds, Integer retries, Instant at)
      implements Event {

    public JobUpdated(long jobId, Integer priority, Instant at) {
      this(jobId, priority, null, null, at);
    }
  }

  /**
   * FINISHED or CANCELED -> PENDING: put back in the queue by a user, or because a job it depended
   * on was (reason says which); its next offer is a new attempt.
   */
  record JobRerun(long jobId, String reason, Instant at) implements Event {}

  /** Finished and canceled jobs that ended before the cutoff are deleted. */
  record FinishedJobsExpired(Instant endedBefore) implements Event {}
}
