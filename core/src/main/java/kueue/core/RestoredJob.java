package kueue.core;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.DependencyKind;
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
 * @param priority see {@link kueue.model.JobSpec#priority()}
 * @param dependencies of a held or waiting job, each with where its parent stands now; empty for
 *     other jobs (their dependencies are met)
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
    Instant notBefore,
    Map<String, Double> workerResources,
    long gpuRamMb,
    Map<String, List<Integer>> devices,
    int priority,
    List<RestoredDependency> dependencies) {

  public RestoredJob {
    workerResources = workerResources == null ? Map.of() : workerResources;
    devices = devices == null ? Map.of() : devices;
    dependencies = dependencies == null ? List.of() : dependencies;
  }

  /** A job of priority 0 without dependencies. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted,
      int retries,
      int retried,
      long retryDelaySeconds,
      Instant notBefore,
      Map<String, Double> workerResources,
      long gpuRamMb,
      Map<String, List<Integer>> devices) {
    this(
        jobId,
        state,
        demand,
        globalResources,
        attempt,
        submitted,
        retries,
        retried,
        retryDelaySeconds,
        notBefore,
        workerResources,
        gpuRamMb,
        devices,
        0,
        List.of());
  }

  /** A job without retries or devices. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted,
      int priority,
      List<RestoredDependency> dependencies) {
    this(
        jobId,
        state,
        demand,
        globalResources,
        attempt,
        submitted,
        0,
        0,
        0,
        null,
        Map.of(),
        0,
        Map.of(),
        priority,
        dependencies);
  }

  /** A job without retries. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted,
      Map<String, Double> workerResources,
      long gpuRamMb,
      Map<String, List<Integer>> devices) {
    this(
        jobId,
        state,
        demand,
        globalResources,
        attempt,
        submitted,
        0,
        0,
        0,
        null,
        workerResources,
        gpuRamMb,
        devices);
  }

  /** A job that needs no devices. */
  public RestoredJob(
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
    this(
        jobId,
        state,
        demand,
        globalResources,
        attempt,
        submitted,
        retries,
        retried,
        retryDelaySeconds,
        notBefore,
        Map.of(),
        0,
        Map.of());
  }

  /** A job without retries that needs no devices. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted) {
    this(jobId, state, demand, globalResources, attempt, submitted, Map.of(), 0, Map.of());
  }

  /**
   * One dependency of a restored job.
   *
   * @param parentState the parent's stored state, null when it is no longer stored
   * @param parentExitCode the parent's exit code, or null
   */
  public record RestoredDependency(
      DependencyKind kind, long parentId, JobState parentState, Integer parentExitCode) {}
}
