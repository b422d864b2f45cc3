package kueue.model;

import java.time.Instant;

/**
 * Where a batch stands, over its jobs still stored ({@code clean-jobs} may have removed some).
 *
 * @param batch the batch id, which is the id of its first job
 * @param command the command of its first stored job
 * @param cwd the working directory of its first stored job
 * @param firstJob the smallest stored job id of the batch
 * @param lastJob the largest stored job id of the batch; ids in between all belong to it
 * @param jobs how many of its jobs are stored
 * @param submitted when the batch was submitted
 * @param ended when its last job ended; null while any job is pending, offered or running
 * @param stats counts per state, average run time and ETA of this batch's jobs
 * @param firstFailure the job with the smallest id that failed, timed out or was canceled, or null
 */
public record BatchSummary(
    long batch,
    String command,
    String cwd,
    long firstJob,
    long lastJob,
    long jobs,
    Instant submitted,
    Instant ended,
    JobStats stats,
    JobSummary firstFailure) {

  /** Jobs that have not ended yet (pending, held, waiting, offered or running). */
  public long active() {
    return stats.pending() + stats.held() + stats.waiting() + stats.offered() + stats.running();
  }
}
