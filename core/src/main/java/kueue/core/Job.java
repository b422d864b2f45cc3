package kueue.core;

import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import kueue.model.JobState;

/**
 * A job that has not ended, as far as scheduling needs it. The spec itself stays in the store; the
 * shape object is shared by all jobs of equal demand to keep a million pending jobs small.
 */
final class Job {
  static final long NO_WORKER = -1;

  final long id;
  final Shape shape;
  final Instant submitted;
  JobState state = JobState.PENDING;
  int attempt;

  /** Attempts lost with their worker or offer; declines do not count. */
  int losses;

  /** The connected worker holding the current attempt; NO_WORKER while pending or unclaimed. */
  long workerId = NO_WORKER;

  Instant offeredAt;

  /**
   * While unclaimed (its worker went away, or the server restarted): when the attempt counts as
   * lost, and why.
   */
  Instant claimDeadline;

  String lossReason;

  /** Workers that will never take this job; null until the first permanent decline. */
  Set<Long> declinedBy;

  String lastDeclineReason;

  /** Declined by every connected worker: kept out of the shape queues until a new worker comes. */
  boolean parked;

  Job(long id, Shape shape, Instant submitted) {
    this.id = id;
    this.shape = shape;
    this.submitted = submitted;
  }

  boolean isOnWorker() {
    return state.isOnWorker();
  }

  boolean declinedForever(long worker) {
    return declinedBy != null && declinedBy.contains(worker);
  }

  void declineForever(long worker) {
    if (declinedBy == null) {
      declinedBy = new HashSet<>();
    }
    declinedBy.add(worker);
  }

  boolean declinedByAll(Set<Long> workers) {
    return declinedBy != null && !workers.isEmpty() && declinedBy.containsAll(workers);
  }
}
