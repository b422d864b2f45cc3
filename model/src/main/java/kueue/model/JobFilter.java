package kueue.model;

/** The state filters of {@code list-jobs}; "succeeded" and "failed" split FINISHED by exit code. */
public enum JobFilter {
  PENDING,
  HELD,
  WAITING,
  OFFERED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  CANCELED,
  TIMED_OUT;

  /** The category of the job's state and exit code (see {@link JobState#category}). */
  public boolean matches(JobSummary job) {
    return job.state().category(job.exitCode()) == this;
  }
}
