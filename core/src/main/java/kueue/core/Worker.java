package kueue.core;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import kueue.model.AttemptRef;
import kueue.model.DeviceState;
import kueue.model.JobState;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerDevice;
import kueue.model.WorkerResources;
import kueue.model.WorkerUsage;

/** A connected worker and everything the scheduler has reserved on it. */
final class Worker {

  /** What a canceled attempt still holds; started tells whether its process ever ran. */
  record KilledAttempt(
      Shape shape, Instant killedAt, boolean started, Map<String, List<Integer>> devices) {
    KilledAttempt asStarted() {
      return new KilledAttempt(shape, killedAt, true, devices);
    }
  }

  /** One device: a resource name and an index. */
  record DeviceKey(String resource, int index) {}

  final long id;

  /**
   * This connection of the worker, unique in the scheduler's life: a worker that comes back under
   * the same id (keyed by its name) is a new session, whose earlier permanent declines no longer
   * count (it may have been fixed meanwhile).
   */
  long session;

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

  /** Thousandths of each device held by jobs here (held or dying); absent for none. */
  private final Map<DeviceKey, Integer> taken = new HashMap<>();

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
    // A measured load leaves Kueue's jobs out, and those offered are already reserved; a load
    // average will count them once they run.
    int loadCpus =
        capacity.usage() != null
            ? capacity.loadCpus()
            : capacity.loadCpus() + unreportedDemand.cpus();
    return new WorkerCapacity(
        capacity.total(),
        loadCpus,
        Math.max(0, capacity.availableRamMb() - unreportedDemand.ramMb()),
        capacity.devices(),
        capacity.usage());
  }

  boolean mayTake(Job job) {
    return !stopping && !job.declinedForever(session) && !deferred.contains(job.id);
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
    take(job.shape, job.devices, 1);
  }

  void release(Job job) {
    if (held.remove(job.id) != null) {
      reserved = reserved.minusFloorZero(job.shape.demand());
      take(job.shape, job.devices, -1);
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
          new KilledAttempt(job.shape, now, job.state() == JobState.RUNNING, job.devices));
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
      take(killed.shape(), killed.devices(), -1);
    }
    return killed;
  }

  void adoptDying(AttemptRef attempt, KilledAttempt killed) {
    dying.put(attempt, killed.asStarted());
    reserved = reserved.plus(killed.shape().demand());
    take(killed.shape(), killed.devices(), 1);
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

  // ---- indexed devices (GPUs and declared resources)

  private void take(Shape shape, Map<String, List<Integer>> devices, int sign) {
    if (devices.isEmpty()) {
      return;
    }
    for (Map.Entry<String, List<Integer>> assigned : devices.entrySet()) {
      Integer amount = shape.workerResources().get(assigned.getKey());
      int share = WorkerResources.sharePerDevice(amount == null ? WorkerResources.WHOLE : amount);
      for (int index : assigned.getValue()) {
        taken.merge(
            new DeviceKey(assigned.getKey(), index),
            sign * share,
            (old, change) -> old + change == 0 ? null : old + change);
      }
    }
  }

  /** Thousandths of the device held by Kueue jobs here. */
  int taken(String resource, int index) {
    return taken.getOrDefault(new DeviceKey(resource, index), 0);
  }

  /**
   * The devices a job of this shape would get here now, by resource name, or null when there are
   * not enough. Whole devices go by lowest index; a fraction goes to the fullest device it still
   * fits on, so that fractions fill one device before they start on another.
   */
  Map<String, List<Integer>> assign(Shape shape) {
    if (!shape.needsDevices()) {
      return Map.of();
    }
    Map<String, List<Integer>> assigned = new TreeMap<>();
    for (Map.Entry<String, Integer> ask : shape.workerResources().entrySet()) {
      String resource = ask.getKey();
      int share = WorkerResources.sharePerDevice(ask.getValue());
      List<WorkerDevice> fitting = new ArrayList<>();
      for (WorkerDevice device : capacity.devices()) {
        if (fits(device, resource, share, shape.gpuRamMb())) {
          fitting.add(device);
        }
      }
      int count = WorkerResources.deviceCount(ask.getValue());
      if (fitting.size() < count) {
        return null;
      }
      if (share < WorkerResources.WHOLE) {
        fitting.sort(
            Comparator.comparingInt((WorkerDevice d) -> -taken(resource, d.index()))
                .thenComparingInt(WorkerDevice::index));
      } else {
        fitting.sort(Comparator.comparingInt(WorkerDevice::index));
      }
      List<Integer> indices = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        indices.add(fitting.get(i).index());
      }
      indices.sort(null);
      assigned.put(resource, List.copyOf(indices));
    }
    return assigned;
  }

  private boolean fits(WorkerDevice device, String resource, int share, long gpuRamMb) {
    return device.resource().equals(resource)
        && device.busy() == null
        && taken(resource, device.index()) + share <= WorkerResources.WHOLE
        && (gpuRamMb == 0
            || !WorkerResources.GPUS.equals(resource)
            || device.memoryFreeMb() >= gpuRamMb);
  }

  /** A device here that nobody uses: a CPU-only job would rather go elsewhere. */
  boolean hasFreeDevice() {
    for (WorkerDevice device : capacity.devices()) {
      if (device.busy() == null && taken(device.resource(), device.index()) == 0) {
        return true;
      }
    }
    return false;
  }

  /** Each reported device with what Kueue holds of it and which jobs. */
  List<DeviceState> deviceStates() {
    List<DeviceState> states = new ArrayList<>(capacity.devices().size());
    for (WorkerDevice device : capacity.devices()) {
      List<Long> holders = new ArrayList<>();
      for (Job job : held.values()) {
        List<Integer> indices = job.devices.get(device.resource());
        if (indices != null && indices.contains(device.index())) {
          holders.add(job.id);
        }
      }
      for (Map.Entry<AttemptRef, KilledAttempt> killed : dying.entrySet()) {
        List<Integer> indices = killed.getValue().devices().get(device.resource());
        if (indices != null && indices.contains(device.index())) {
          holders.add(killed.getKey().jobId());
        }
      }
      states.add(
          new DeviceState(
              device,
              taken(device.resource(), device.index()) / (double) WorkerResources.WHOLE,
              holders));
    }
    return states;
  }

  /**
   * Why a job of this shape gets no devices here, e.g. "ralab04 has 1 free, GPU 1 is used by
   * another user: alice, pid 4711", for the resource it lacks.
   */
  String deviceShortage(Shape shape) {
    for (Map.Entry<String, Integer> ask : shape.workerResources().entrySet()) {
      String resource = ask.getKey();
      int share = WorkerResources.sharePerDevice(ask.getValue());
      int fitting = 0;
      int total = 0;
      List<String> busy = new ArrayList<>();
      for (WorkerDevice device : capacity.devices()) {
        if (!device.resource().equals(resource)) {
          continue;
        }
        total++;
        if (fits(device, resource, share, shape.gpuRamMb())) {
          fitting++;
        } else if (device.busy() != null) {
          busy.add(
              WorkerResources.deviceWord(resource) + " " + device.index() + " is " + device.busy());
        }
      }
      if (fitting >= WorkerResources.deviceCount(ask.getValue())) {
        continue;
      }
      String word = WorkerResources.deviceWord(resource);
      if (total == 0) {
        return name + " has no " + word + (word.equals("GPU") ? "s" : "");
      }
      StringBuilder text = new StringBuilder(name).append(" has ").append(fitting);
      text.append(share < WorkerResources.WHOLE ? " with room" : " free");
      text.append(" of ").append(total);
      for (String line : busy) {
        text.append(", ").append(line);
      }
      return text.toString();
    }
    return null;
  }

  /**
   * Which of the job's per-worker resources this worker lacks now and who holds them, e.g. "vm has
   * 1 of 8 CPUs free (Kueue's jobs hold 4, other programs use 3.2)"; null when the job fits.
   */
  String resourceShortage(Resources demand) {
    if (stopping) {
      return name + " is stopping";
    }
    Resources free = free();
    Resources total = capacity.total();
    List<String> shortages = new ArrayList<>();
    if (demand.slots() > free.slots()) {
      shortages.add(free.slots() + " of " + total.slots() + " job slots free");
    }
    WorkerUsage usage = capacity.usage();
    if (demand.cpus() > free.cpus()) {
      String others =
          usage != null
              ? ", other programs use " + String.format(Locale.ROOT, "%.1f", usage.othersCpus())
              : capacity.loadCpus() > 0 ? ", load " + capacity.loadCpus() : "";
      shortages.add(
          free.cpus()
              + " of "
              + total.cpus()
              + " CPUs free (Kueue's jobs hold "
              + reserved.cpus()
              + others
              + ")");
    }
    if (demand.ramMb() > free.ramMb()) {
      String others =
          usage != null
              ? ", other programs use " + usage.othersRamMb() + " MB"
              : ", the OS has " + capacity.availableRamMb() + " MB available";
      shortages.add(
          free.ramMb()
              + " of "
              + total.ramMb()
              + " MB RAM free (Kueue's jobs hold "
              + reserved.ramMb()
              + " MB"
              + others
              + ")");
    }
    return shortages.isEmpty() ? null : name + " has " + String.join(", ", shortages);
  }
}
