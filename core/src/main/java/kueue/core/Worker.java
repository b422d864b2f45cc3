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
import kueue.model.Resources;
import kueue.model.WorkerCapacity;

/** A connected worker and everything the scheduler has reserved on it. */
final class Worker {
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
  final Map<AttemptRef, Shape> dying = new LinkedHashMap<>();
  /** Jobs this worker declined for now; not offered to it again before its next capacity report. */
  final Set<Long> deferred = new HashSet<>();

  Worker(long id, String name, WorkerCapacity capacity, Instant now) {
    this.id = id;
    this.name = name;
    this.capacity = capacity;
    this.connected = now;
    this.lastSeen = now;
  }

  Resources free() {
    return capacity.free(reserved);
  }

  double busyness() {
    return capacity.busyness(reserved);
  }

  boolean isIdle() {
    return held.isEmpty() && dying.isEmpty();
  }

  boolean mayTake(Job job) {
    return !job.declinedForever(id) && !deferred.contains(job.id);
  }

  void hold(Job job) {
    held.put(job.id, job);
    job.workerId = id;
    reserved = reserved.plus(job.shape.demand());
  }

  void release(Job job) {
    if (held.remove(job.id) != null) {
      reserved = reserved.minusFloorZero(job.shape.demand());
    }
    job.workerId = Job.NO_WORKER;
  }

  /** Keeps the job's reservation under its attempt after the job itself has left the scheduler. */
  void keepWhileDying(Job job) {
    if (held.remove(job.id) != null) {
      dying.put(new AttemptRef(job.id, job.attempt), job.shape);
    }
    job.workerId = Job.NO_WORKER;
  }

  /** Returns the shape of the dying attempt if this worker held it, after releasing it. */
  Shape releaseDying(AttemptRef attempt) {
    Shape shape = dying.remove(attempt);
    if (shape != null) {
      reserved = reserved.minusFloorZero(shape.demand());
    }
    return shape;
  }

  void adoptDying(AttemptRef attempt, Shape shape) {
    dying.put(attempt, shape);
    reserved = reserved.plus(shape.demand());
  }

  List<Long> jobIds() {
    return new ArrayList<>(held.keySet());
  }
}
