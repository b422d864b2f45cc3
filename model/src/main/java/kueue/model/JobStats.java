package kueue.model;

/**
 * The footer of {@code list-jobs}: counts per state over all stored jobs, average run time of
 * finished jobs and an estimate of when the remaining ones are done (null when unknown).
 */
public record JobStats(
    long pending,
    long offered,
    long running,
    long succeeded,
    long failed,
    long canceled,
    long timedOut,
    Double averageRunSeconds,
    Double etaSeconds,
    long held,
    long waiting) {

  /** Counts without timed-out, held or waiting jobs. */
  public JobStats(
      long pending,
      long offered,
      long running,
      long succeeded,
      long failed,
      long canceled,
      Double averageRunSeconds,
      Double etaSeconds) {
    this(pending, offered, running, succeeded, failed, canceled, 0, averageRunSeconds, etaSeconds);
  }

  /** Counts without held or waiting jobs. */
  public JobStats(
      long pending,
      long offered,
      long running,
      long succeeded,
      long failed,
      long canceled,
      long timedOut,
      Double averageRunSeconds,
      Double etaSeconds) {
    this(
        pending,
        offered,
        running,
        succeeded,
        failed,
        canceled,
        timedOut,
        averageRunSeconds,
        etaSeconds,
        0,
        0);
  }

  /** Counts without timed-out jobs. */
  public JobStats(
      long pending,
      long offered,
      long running,
      long succeeded,
      long failed,
      long canceled,
      Double averageRunSeconds,
      Double etaSeconds,
      long held,
      long waiting) {
    this(
        pending,
        offered,
        running,
        succeeded,
        failed,
        canceled,
        0,
        averageRunSeconds,
        etaSeconds,
        held,
        waiting);
  }
}
