package kueue.model;

import java.util.List;

/**
 * One page of jobs for a browsing user (the dashboard's jobs table): every condition narrows the
 * list, and the page continues from the last job of the previous one, so that the cost of a page
 * follows its size and not how many jobs are stored or how far the user has paged.
 *
 * @param filters states to include (empty: all)
 * @param batch only this batch's jobs, or null
 * @param worker only jobs whose current or last attempt was on the worker of this name, or null
 * @param text only jobs whose command, working directory or note contains this text (ASCII case
 *     ignored), or null
 * @param newestFirst order by id, highest first; otherwise lowest first
 * @param after the page continues after this job id in the order asked for (ids below it when
 *     newest first, above it otherwise), or null for the first page
 * @param limit the most jobs of the page, 1 to {@link #MAX_LIMIT} (checked by the reader)
 * @param byState order by state (the list categories in {@link JobFilter}'s order, reversed when
 *     newest first), then by id in the same direction; null or false: by id only. Submission order
 *     is id order (ids are handed out as jobs are submitted), so it needs no order of its own
 * @param afterState with byState: the state of the job named by after, where the page continues
 */
public record JobQuery(
    List<JobFilter> filters,
    Long batch,
    String worker,
    String text,
    boolean newestFirst,
    Long after,
    int limit,
    Boolean byState,
    JobFilter afterState) {
  public static final int MAX_LIMIT = 1000;

  /** Ordered by id. */
  public JobQuery(
      List<JobFilter> filters,
      Long batch,
      String worker,
      String text,
      boolean newestFirst,
      Long after,
      int limit) {
    this(filters, batch, worker, text, newestFirst, after, limit, false, null);
  }

  /** Decoding never throws here, so that a bad query is answered rather than cut off. */
  public JobQuery {
    filters = filters == null ? List.of() : filters;
    worker = worker == null || worker.isBlank() ? null : worker;
    text = text == null || text.isEmpty() ? null : text;
    byState = Boolean.TRUE.equals(byState);
  }

  /** The same query for another place and size of page, by id. */
  public JobQuery byIdFrom(Long newAfter, int newLimit) {
    return new JobQuery(filters, batch, worker, text, newestFirst, newAfter, newLimit, false, null);
  }

  public boolean limitIsValid() {
    return limit >= 1 && limit <= MAX_LIMIT;
  }
}
