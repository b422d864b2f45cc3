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
    int priority,
    List<RestoredDependency> dependencies) {

  public RestoredJob {
    dependencies = dependencies == null ? List.of() : dependencies;
  }

  /** A job of priority 0 without dependencies. */
  public RestoredJob(
      long jobId,
      JobState state,
      Resources demand,
      Map<String, Integer> globalResources,
      int attempt,
      Instant submitted) {
    this(jobId, state, demand, globalResources, attempt, submitted, 0, List.of());
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
