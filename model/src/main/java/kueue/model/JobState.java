package kueue.model;

/**
 * The life of a job: PENDING -> OFFERED -> RUNNING -> FINISHED, or CANCELED from any state before
 * FINISHED. A lost worker sends OFFERED and RUNNING jobs back to PENDING as a new attempt.
 */
public enum JobState {
  PENDING,
  OFFERED,
  RUNNING,
  FINISHED,
  CANCELED;

  public boolean isTerminal() {
    return this == FINISHED || this == CANCELED;
  }

  /** True while a worker holds (or is being asked to hold) the job. */
  public boolean isOnWorker() {
    return this == OFFERED || this == RUNNING;
  }
}
