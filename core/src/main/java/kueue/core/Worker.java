package kueue.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import kueue.model.AttemptRef;
import kueue.model.JobState;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;

/** A connected worker and everything the scheduler has reserved on it. */
final class Worker {

  /** What a canceled attempt still holds; started tells whether its process ever ran. */
  record KilledAttempt(Shape shape, Instant killedAt, boolean started) {
    KilledAttempt asStarted() {
      return new KilledAttempt(shape, killedAt, true);
    }
  }

  final long id;
  final Instant connected;
  String name;
  WorkerCapacity capacity;
  Instant lastSeen;
  Resources reserved = Resources.NONE;

  /** Active jobs whose current attempt is offered to or running on this worker. */
  final TreeMap<Long, Job> held = new TreeMap<>();

  /**
   * Attempts canceled with --kill whose process may still be dying here: they keep their resources
   * until the worker reports them ended or goes away.
   */
  final Map<AttemptRef, KilledAttempt> dying = new LinkedHashMap<>();

  /**
   * The worker released a job because it is stopping: it takes no more work, and an offer now would
   * only be lost with its connection.
   */
  boolean stopping;

  /** Jobs this worker declined for now; not offered to it again before its next capacity report. */
  final Set<Long> deferred = new HashSet<>();

  /**
   * Jobs offered here since the worker last reported its capacity. Its reported load and available
   * RAM cannot include them yet, so they are counted against that snapshot; otherwise several jobs
   * placed in one pass could each fit into the same free RAM.
   */
  private final Set<Long> unreported = new HashSet<>();

  private Resources unreportedDemand = Resources.NONE;

  Worker(long id, String name, WorkerCapacity capacity, Instant now) {
    this.id = id;
    this.name = name;
    this.capacity = capacity;
    this.connected = now;
    this.lastSeen = now;
  }

  Resources free() {
    return effectiveCapacity().free(reserved);
  }

  double busyness() {
    return effectiveCapacity().busyness(reserved);
  }

  /**
   * A capacity report. It may include jobs already started here, but not jobs still only offered
   * (the report may have crossed the offer on the wire), so those stay counted against it.
   */
  void reported(WorkerCapacity capacity) {
    this.capacity = capacity;
    unreported.removeIf(
        jobId -> held.get(jobId) == null || held.get(jobId).state() != JobState.OFFERED);
    unreportedDemand = Resources.NONE;
    for (long jobId : unreported) {
      unreportedDemand = unreportedDemand.plus(held.get(jobId).shape.demand());
    }
    deferred.clear();
  }

  private WorkerCapacity effectiveCapacity() {
    if (unreportedDemand.equals(Resources.NONE)) {
      return capacity;
    }
    return new WorkerCapacity(
        capacity.total(),
        capacity.loadCpus() + unreportedDemand.cpus(),
        Math.max(0, capacity.availableRamMb() - unreportedDemand.ramMb()));
  }

  boolean mayTake(Job job) {
    return !stopping && !job.declinedForever(id) && !deferred.contains(job.id);
  }

  /** Reserves a job offered here now. */
  void holdOffered(Job job) {
    hold(job);
    unreported.add(job.id);
    unreportedDemand = unreportedDemand.plus(job.shape.demand());
  }

  /** Reserves a job the worker already runs: its last report already counts it. */
  void hold(Job job) {
    held.put(job.id, job);
    job.workerId = id;
    reserved = reserved.plus(job.shape.demand());
  }

  void release(Job job) {
    if (held.remove(job.id) != null) {
      reserved = reserved.minusFloorZero(job.shape.demand());
    }
    if (unreported.remove(job.id)) {
      unreportedDemand = unreportedDemand.minusFloorZero(job.shape.demand());
    }
    job.workerId = Job.NO_WORKER;
  }

  /** Keeps the job's reservation under its attempt after the job itself has left the scheduler. */
  void keepWhileDying(Job job, Instant now) {
    if (held.remove(job.id) != null) {
      dying.put(
          new AttemptRef(job.id, job.attempt),
          new KilledAttempt(job.shape, now, job.state() == JobState.RUNNING));
    }
    // A process being killed may still use what it was given: its unreported demand stays counted.
    unreported.remove(job.id);
    job.workerId = Job.NO_WORKER;
  }

  /** Releases a dying attempt if this worker held it; null if it did not. */
  KilledAttempt releaseDying(AttemptRef attempt) {
    KilledAttempt killed = dying.remove(attempt);
    if (killed != null) {
      reserved = reserved.minusFloorZero(killed.shape().demand());
    }
    return killed;
  }

  void adoptDying(AttemptRef attempt, KilledAttempt killed) {
    dying.put(attempt, killed.asStarted());
    reserved = reserved.plus(killed.shape().demand());
  }

  void dyingAttemptStarted(AttemptRef attempt) {
    dying.computeIfPresent(attempt, (key, killed) -> killed.asStarted());
  }

  /**
   * Releases killed attempts that never started and were killed before the cutoff: the worker may
   * never have received their offer, so nothing would ever report them ended.
   */
  List<KilledAttempt> releaseUnstartedKilledBefore(Instant cutoff) {
    List<KilledAttempt> released = new ArrayList<>();
    for (AttemptRef attempt : List.copyOf(dying.keySet())) {
      KilledAttempt killed = dying.get(attempt);
      if (!killed.started() && killed.killedAt().isBefore(cutoff)) {
        released.add(releaseDying(attempt));
      }
    }
    return released;
  }

  List<Long> jobIds() {
    return new ArrayList<>(held.keySet());
  }
}
