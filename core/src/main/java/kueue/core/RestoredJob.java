package kueue.core;

import java.time.Instant;
import java.util.Map;
import kueue.model.JobState;
import kueue.model.Resources;

/**
 * A non-terminal job read back from the store at start-up. OFFERED and RUNNING jobs may still run
 * on a worker that will reconnect and claim them; until then they keep their resources.
 *
 * @param retries how many retries the job was allowed
 * @param retried how many of them it has had
 * @param retryDelaySeconds the pause before each retry, 0 for none
 * @param notBefore a pending job waiting for its retry delay: when it may be offered; else null
 */
public record RestoredJob(
    long jobId,
    JobState state,
    Resources demand,
    Map<String, Integer> globalResources,
    int attempt,
    Instant submitted,
    int retries,
    int retried,
    long retryDelaySeconds,
    Instant notBefore) {

  /** A job without retries. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted) {
    this(jobId, state, demand, globalResources, attempt, submitted, 0, 0, 0, null);
  }
}
