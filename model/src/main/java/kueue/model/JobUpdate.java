package kueue.model;

/**
 * A change to jobs that have not started ({@code kueue hold}, {@code release}, {@code update-job}).
 * Each field is null when it is not to change.
 *
 * @param hold true to hold the jobs, false to release them
 * @param priority the new priority
 */
public record JobUpdate(Boolean hold, Integer priority) {

  public static JobUpdate holding(boolean hold) {
    return new JobUpdate(hold, null);
  }

  public boolean isEmpty() {
    return hold == null && priority == null;
  }
}
