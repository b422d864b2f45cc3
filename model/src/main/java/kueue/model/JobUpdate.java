package kueue.model;

/**
 * A change to jobs that have not started ({@code kueue hold}, {@code release}, {@code update-job}).
 * Each field is null when it is not to change.
 *
 * @param hold true to hold the jobs, false to release them
 * @param priority the new priority
 * @param timeLimitSeconds the new time limit in seconds; 0 removes the limit
 * @param retries how many times the jobs may run again after attempts that do not succeed; 0
 *     removes retries
 */
public record JobUpdate(Boolean hold, Integer priority, Long timeLimitSeconds, Integer retries) {

  public JobUpdate(Boolean hold, Integer priority) {
    this(hold, priority, null, null);
  }

  public static JobUpdate holding(boolean hold) {
    return new JobUpdate(hold, null);
  }

  public boolean isEmpty() {
    return hold == null && priority == null && timeLimitSeconds == null && retries == null;
  }

  /** What is wrong with the values, or null when they are all usable. */
  public String problem() {
    if (timeLimitSeconds != null && timeLimitSeconds < 0) {
      return "time limit must not be negative (got " + timeLimitSeconds + ")";
    }
    if (retries != null && retries < 0) {
      return "retries must not be negative (got " + retries + ")";
    }
    return null;
  }
}
