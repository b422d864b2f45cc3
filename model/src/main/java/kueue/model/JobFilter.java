package kueue.model;

/** The state filters of {@code list-jobs}; "succeeded" and "failed" split FINISHED by exit code. */
public enum JobFilter {
  PENDING,
  OFFERED,
  RUNNING,
  SUCCEEDED,
  FAILED,
  CANCELED;

  public boolean matches(JobSummary job) {
    return switch (this) {
      case PENDING -> job.state() == JobState.PENDING;
      case OFFERED -> job.state() == JobState.OFFERED;
      case RUNNING -> job.state() == JobState.RUNNING;
      case SUCCEEDED -> job.succeeded();
      case FAILED -> job.failed();
      case CANCELED -> job.state() == JobState.CANCELED;
    };
  }
}
