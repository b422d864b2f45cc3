package kueue.core;

import java.util.List;
import java.util.Map;

/**
 * What the ids named by the dependencies of a submission are, as the store knows them; the
 * scheduler knows only jobs that have not ended, and batches not at all.
 *
 * @param jobsOf for each id named: the stored jobs it stands for (the batch's jobs for a batch id,
 *     else the job itself); an id missing here is unknown
 * @param ended of those jobs, the ones that had ended when they were looked up, with how
 */
public record DependencyTargets(Map<Long, List<Long>> jobsOf, Map<Long, ParentEnd> ended) {
  public static final DependencyTargets NONE = new DependencyTargets(Map.of(), Map.of());

  /**
   * How a job ended, for its dependents.
   *
   * @param succeeded finished with exit code 0
   * @param how "succeeded", "failed", "was canceled", ... for the reason given to dependents
   */
  public record ParentEnd(boolean succeeded, String how) {}
}
