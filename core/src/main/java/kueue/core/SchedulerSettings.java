package kueue.core;

import java.time.Duration;
import java.util.Map;

/**
 * @param globalMaxParallelJobs cap on the job slots of all offered and running jobs together
 * @param globalResources totals from [global_resources]
 * @param workerTimeout a worker silent this long is presumed lost
 * @param offerTimeout an offer unanswered this long goes back to pending
 * @param cleanupAfter finished and canceled jobs are deleted this long after they ended
 * @param maxAttempts a job lost this many times is failed instead of placed again
 * @param declinedTimeout a job every connected worker has declined for good for this long fails;
 *     zero: never
 */
public record SchedulerSettings(
    int globalMaxParallelJobs,
    Map<String, Integer> globalResources,
    Duration workerTimeout,
    Duration offerTimeout,
    Duration cleanupAfter,
    int maxAttempts,
    Duration declinedTimeout) {

  public SchedulerSettings {
    globalResources = Map.copyOf(globalResources);
  }

  /** Jobs declined by every worker wait for a new worker however long that takes. */
  public SchedulerSettings(
      int globalMaxParallelJobs,
      Map<String, Integer> globalResources,
      Duration workerTimeout,
      Duration offerTimeout,
      Duration cleanupAfter,
      int maxAttempts) {
    this(
        globalMaxParallelJobs,
        globalResources,
        workerTimeout,
        offerTimeout,
        cleanupAfter,
        maxAttempts,
        Duration.ZERO);
  }
}
