package kueue.model;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.time.Instant;

/**
 * One row of {@code list-jobs}: what a user needs to recognise a job and see where it stands.
 *
 * @param worker name of the worker of the current or last attempt, or null
 * @param note pending jobs: why nothing runs them yet; finished jobs: why they failed, if known
 * @param batch the batch the job belongs to, or null
 * @param arrayIndex the job's index within its batch, or null
 * @param priority the job's priority now (higher first among pending jobs; 0 by default)
 */
@RecordBuilder
public record JobSummary(
    long id,
    JobState state,
    String command,
    String cwd,
    int slots,
    int cpus,
    long ramMb,
    int attempt,
    String worker,
    Instant submitted,
    Instant started,
    Instant ended,
    Integer exitCode,
    Integer signal,
    String note,
    Long batch,
    Long arrayIndex,
    int priority)
    implements JobSummaryBuilder.With {

  public boolean succeeded() {
    return state == JobState.FINISHED && exitCode != null && exitCode == 0;
  }

  public boolean failed() {
    return state == JobState.FINISHED && !succeeded();
  }
}
