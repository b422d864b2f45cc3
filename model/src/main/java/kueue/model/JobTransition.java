package kueue.model;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * Every legal move of a job between {@link JobState}s, named after the scheduler event that records
 * it (kueue.core.Event.JobQueued, JobOffered, ...). The scheduler refuses any other move, and the
 * store writes each move's target state; a test checks both against this table.
 */
public enum JobTransition {
  /** A submitted job enters the queue: the only move from no state. */
  QUEUED(JobState.PENDING),

  /** A worker is asked to run the job, as a new attempt. */
  OFFERED(JobState.OFFERED, JobState.PENDING),

  /** The worker would not take it; the attempt does not count as lost. */
  DECLINED(JobState.PENDING, JobState.OFFERED),

  /** The worker started (or claimed after a restart) the offered attempt. */
  STARTED(JobState.RUNNING, JobState.OFFERED),

  /** The worker reported the attempt's result; a short job may end before its start is known. */
  ENDED(JobState.FINISHED, JobState.OFFERED, JobState.RUNNING),

  /** The attempt was lost (worker gone, offer not answered) or released; the job queues again. */
  REQUEUED(JobState.PENDING, JobState.OFFERED, JobState.RUNNING),

  /**
   * Canceled by a user (a job on a worker only when the user asked to kill it), or because a
   * dependency can no longer be satisfied.
   */
  CANCELED(
      JobState.CANCELED,
      JobState.PENDING,
      JobState.HELD,
      JobState.WAITING,
      JobState.OFFERED,
      JobState.RUNNING),

  /** A user holds a job that has not started (or it was submitted with {@code --hold}). */
  HELD(JobState.HELD, JobState.PENDING, JobState.WAITING),

  /** A user released a held job whose dependencies are met (or that has none). */
  RELEASED(JobState.PENDING, JobState.HELD),

  /**
   * The job waits for jobs it depends on: just submitted, or released from a hold before its
   * dependencies were met.
   */
  BLOCKED(JobState.WAITING, JobState.PENDING, JobState.HELD),

  /** The last of the job's dependencies was met: it may be placed. */
  UNBLOCKED(JobState.PENDING, JobState.WAITING),

  /**
   * A user put an ended job back in the queue ({@code kueue requeue}), for a new attempt under the
   * same id: the only move out of a terminal state.
   */
  RERUN(JobState.PENDING, JobState.FINISHED, JobState.CANCELED, JobState.TIMED_OUT),

  /**
   * Lost too many times, or declined for good by every connected worker for too long: given up
   * without a result.
   */
  FAILED(JobState.FINISHED, JobState.PENDING, JobState.OFFERED, JobState.RUNNING),

  /** The worker stopped the attempt when it reached the job's time limit. */
  TIMED_OUT(JobState.TIMED_OUT, JobState.OFFERED, JobState.RUNNING),

  /**
   * The attempt did not succeed and the job has retries left: it queues again, as the next attempt
   * (after its retry delay).
   */
  RETRIED(JobState.PENDING, JobState.OFFERED, JobState.RUNNING);

  private final JobState to;
  private final Set<JobState> from;

  JobTransition(JobState to, JobState... from) {
    this.to = to;
    this.from = from.length == 0 ? EnumSet.noneOf(JobState.class) : EnumSet.of(from[0], from);
  }

  public JobState to() {
    return to;
  }

  /** The states this move starts from; empty for the move that creates a job. */
  public Set<JobState> from() {
    return Collections.unmodifiableSet(from);
  }

  public boolean startsFrom(JobState state) {
    return from.contains(state);
  }

  /** The state of a job that has just been submitted. */
  public static JobState initial() {
    return QUEUED.to;
  }

  /** A move from one state to another, if the table has one. */
  public static Optional<JobTransition> between(JobState from, JobState to) {
    for (JobTransition transition : values()) {
      if (transition.to == to && transition.from.contains(from)) {
        return Optional.of(transition);
      }
    }
    return Optional.empty();
  }

  public static boolean isLegal(JobState from, JobState to) {
    return between(from, to).isPresent();
  }
}
