package kueue.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kueue.model.DependencyKind;
import kueue.model.JobState;
import kueue.model.JobTransition;

/**
 * A job that has not ended, as far as scheduling needs it. The spec itself stays in the store; the
 * shape object is shared by all jobs of equal demand to keep a million pending jobs small.
 */
final class Job {
  static final long NO_WORKER = -1;

  final long id;

  /** Changes only while the job is not queued (a new priority). */
  Shape shape;

  final Instant submitted;

  /** Changed only by {@link #moveTo}, so that every change is one of {@link JobTransition}. */
  private JobState state;

  int attempt;

  /** Attempts lost with their worker or offer; declines do not count. */
  int losses;

  /** The connected worker holding the current attempt; NO_WORKER while pending or unclaimed. */
  long workerId = NO_WORKER;

  Instant offeredAt;

  /**
   * Device indices of the current attempt by resource name, while it is offered, running or
   * unclaimed; empty otherwise and for jobs that need none.
   */
  Map<String, List<Integer>> devices = Map.of();

  /**
   * While unclaimed (its worker went away, or the server restarted): when the attempt counts as
   * lost, and why.
   */
  Instant claimDeadline;

  String lossReason;

  /**
   * Worker sessions ({@link Worker#session}) that will never take this job, with why each said so;
   * null until the first permanent decline.
   */
  Map<Long, String> declinedBy;

  /** Its retries; null for a job submitted without, as most are, which then costs one field. */
  Retries retries;

  /** Declined by every connected worker: kept out of the shape queues until a new worker comes. */
  boolean parked;

  /** Since when it is parked; null while it is not. */
  Instant parkedSince;

  /** Dependencies of this job that are not met yet; it stays WAITING (or HELD) until 0. */
  int unmetDependencies;

  /** Jobs that wait for this one to end, one entry per dependency; null when none. */
  List<Dependent> dependents;

  /** A job that depends on this one, and how. */
  record Dependent(Job child, DependencyKind kind) {}

  /** A job just submitted. */
  Job(long id, Shape shape, Instant submitted) {
    this(id, shape, submitted, JobTransition.initial());
  }

  /** A job read back from the store, in the state it was stored in; it must not have ended. */
  Job(long id, Shape shape, Instant submitted, JobState state) {
    this(id, shape, submitted, state, false);
  }

  /** A job that has ended, read back from the store to be put back in the queue. */
  static Job ended(long id, Shape shape, Instant submitted, JobState state) {
    return new Job(id, shape, submitted, state, true);
  }

  private Job(long id, Shape shape, Instant submitted, JobState state, boolean ended) {
    if (state == null || state.isTerminal() != ended) {
      throw new IllegalArgumentException(
          "job " + id + (ended ? " has not ended: " : " cannot be restored as ") + state);
    }
    this.id = id;
    this.shape = shape;
    this.submitted = submitted;
    this.state = state;
  }

  JobState state() {
    return state;
  }

  /** While the job waits out a retry delay: when it may be offered again; else null. */
  Instant notBefore() {
    return retries == null ? null : retries.notBefore;
  }

  /** How a job with retries runs again after an attempt that did not succeed. */
  static final class Retries {
    /**
     * How many more times the job may run after attempts that do not succeed (--retries); changed
     * by update-job before the job starts.
     */
    int allowed;

    /** The pause before each retry, in seconds; 0 for none. */
    final long delaySeconds;

    /** How many of them it has had. */
    int used;

    /** See {@link Job#notBefore()}. */
    Instant notBefore;

    Retries(int allowed, long delaySeconds, int used) {
      this.allowed = allowed;
      this.delaySeconds = Math.max(0, delaySeconds);
      this.used = used;
    }

    boolean left() {
      return used < allowed;
    }
  }

  /**
   * The one way to change the job's state.
   *
   * @throws IllegalStateException if {@link JobTransition} has no move from the current state to
   *     target: the scheduler's logic is wrong, and the store would refuse or corrupt the change
   */
  void moveTo(JobState target) {
    if (!JobTransition.isLegal(state, target)) {
      throw new IllegalStateException(
          "job " + id + " cannot move from " + state + " to " + target + " (see JobTransition)");
    }
    state = target;
  }

  void addDependent(Job child, DependencyKind kind) {
    if (dependents == null) {
      dependents = new ArrayList<>(1);
    }
    dependents.add(new Dependent(child, kind));
  }

  boolean isOnWorker() {
    return state.isOnWorker();
  }

  boolean declinedForever(long session) {
    return declinedBy != null && declinedBy.containsKey(session);
  }

  void declineForever(long session, String reason) {
    if (declinedBy == null) {
      declinedBy = new HashMap<>();
    }
    declinedBy.put(session, reason);
  }

  /** Why the worker session will never take this job, or null if it might. */
  String permanentDecline(long session) {
    return declinedBy == null ? null : declinedBy.get(session);
  }

  boolean declinedByAll(Collection<Worker> workers) {
    if (declinedBy == null || workers.isEmpty()) {
      return false;
    }
    for (Worker worker : workers) {
      if (!declinedBy.containsKey(worker.session)) {
        return false;
      }
    }
    return true;
  }
}
