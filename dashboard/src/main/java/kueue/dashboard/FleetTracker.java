package kueue.dashboard;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.BatchSummary;
import kueue.model.DeviceState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.Resources;
import kueue.model.WorkerResources;
import kueue.model.WorkerSummary;
import kueue.model.WorkerUsage;

/**
 * Turns what the server answered at each poll into a {@link FleetView}: remembers workers that went
 * away (the server lists only connected ones) and keeps the per-minute history. Pure: the time is
 * an argument, and one thread calls it.
 */
final class FleetTracker {
  /** How long a lost worker stays on the page. */
  static final Duration LOST_KEPT = Duration.ofHours(1);

  /** How much history the plots show. */
  static final int HISTORY_MINUTES = 6 * 60;

  private final Map<String, FleetView.WorkerView> lost = new LinkedHashMap<>();
  private Map<String, FleetView.WorkerView> lastConnected = Map.of();
  private final Deque<Minute> minutes = new ArrayDeque<>();
  private Long lastFinished;

  private static final class Minute {
    final long start;
    long finished;
    double cpuUseSum;
    int samples;

    Minute(long start) {
      this.start = start;
    }
  }

  /**
   * Fills the history before the dashboard started with what the server stored: jobs that ended per
   * minute (minutes not listed had none); the fleet's use then is unknown.
   *
   * @param minutes minute starts, epoch seconds, ascending
   */
  void seed(Instant now, List<Long> minutes, List<Long> counts) {
    long current = now.getEpochSecond() / 60 * 60;
    long first = current - (HISTORY_MINUTES - 1) * 60L;
    Map<Long, Long> byMinute = new java.util.HashMap<>();
    for (int i = 0; i < minutes.size(); i++) {
      byMinute.put(minutes.get(i), counts.get(i));
    }
    Deque<Minute> seeded = new ArrayDeque<>();
    for (long start = first; start <= current; start += 60) {
      Minute minute = new Minute(start);
      minute.finished = byMinute.getOrDefault(start, 0L);
      seeded.addLast(minute);
    }
    for (Minute later : minutes()) {
      if (later.start > current) {
        seeded.addLast(later);
      }
    }
    this.minutes.clear();
    this.minutes.addAll(seeded);
  }

  private List<Minute> minutes() {
    return List.copyOf(minutes);
  }

  /**
   * @param running the offered and running jobs
   * @param batches the newest batches, in the server's order (oldest first)
   */
  FleetView update(
      Instant now,
      List<WorkerSummary> workers,
      List<JobSummary> running,
      List<BatchSummary> batches,
      JobStats stats) {
    Map<String, List<FleetView.RunningJob>> jobsByWorker = new LinkedHashMap<>();
    for (JobSummary job : running) {
      if (job.worker() != null) {
        jobsByWorker
            .computeIfAbsent(job.worker(), name -> new ArrayList<>())
            .add(
                new FleetView.RunningJob(
                    job.id(), job.state().name(), job.command(), job.started(), job.batch()));
      }
    }
    Map<String, FleetView.WorkerView> connected = new LinkedHashMap<>();
    for (WorkerSummary worker : workers.stream().sorted(byName()).toList()) {
      connected.put(
          worker.name(), view(worker, jobsByWorker.getOrDefault(worker.name(), List.of())));
    }
    for (var previous : lastConnected.values()) {
      if (!connected.containsKey(previous.name())) {
        lost.put(previous.name(), lostView(previous));
      }
    }
    connected.keySet().forEach(lost::remove);
    lost.values().removeIf(worker -> worker.lastSeen().plus(LOST_KEPT).isBefore(now));
    lastConnected = connected;

    record(now, stats, workers);
    List<FleetView.WorkerView> all = new ArrayList<>(connected.values());
    all.addAll(lost.values());
    return new FleetView(now, null, stats, all, batches.reversed(), history());
  }

  /** The view when the server could not be asked: the last workers, all shown as lost. */
  FleetView unreachable(Instant now, String error, FleetView last) {
    List<FleetView.WorkerView> workers =
        last == null
            ? List.of()
            : last.workers().stream().map(w -> w.connected() ? lostView(w) : w).toList();
    return new FleetView(
        now,
        error,
        last == null ? null : last.stats(),
        workers,
        last == null ? List.of() : last.batches(),
        history());
  }

  private static Comparator<WorkerSummary> byName() {
    return Comparator.comparing(WorkerSummary::name);
  }

  private static FleetView.WorkerView lostView(FleetView.WorkerView worker) {
    return new FleetView.WorkerView(
        worker.id(),
        worker.name(),
        worker.hostname(),
        false,
        worker.connectedSince(),
        worker.lastSeen(),
        0,
        worker.slotsTotal(),
        0,
        worker.bars().stream().map(FleetTracker::unavailable).toList(),
        List.of());
  }

  /** A lost worker's resource: its size is known, but nothing of it can take a job now. */
  private static FleetView.Bar unavailable(FleetView.Bar bar) {
    return new FleetView.Bar(bar.resource(), bar.unit(), bar.total(), 0, 0, 0);
  }

  static FleetView.WorkerView view(WorkerSummary worker, List<FleetView.RunningJob> jobs) {
    Resources total = worker.capacity().total();
    Resources reserved = worker.reserved();
    return new FleetView.WorkerView(
        worker.id(),
        worker.name(),
        worker.system().hostname(),
        true,
        worker.connected(),
        worker.lastSeen(),
        reserved.slots(),
        total.slots(),
        worker.system().load1(),
        bars(worker),
        jobs);
  }

  /** CPU and RAM; GPUs too when the worker has any. */
  static List<FleetView.Bar> bars(WorkerSummary worker) {
    FleetView.Bar gpus = gpuBar(worker);
    return gpus == null
        ? List.of(cpuBar(worker), ramBar(worker))
        : List.of(cpuBar(worker), ramBar(worker), gpus);
  }

  /**
   * Counted in devices: Kueue's part is the share its jobs hold of each GPU; the others' part is
   * the rest of each GPU the worker found in use outside Kueue (another user's process, memory
   * taken by no Kueue job); null for a worker without GPUs.
   */
  static FleetView.Bar gpuBar(WorkerSummary worker) {
    double total = 0;
    double kueue = 0;
    double others = 0;
    for (DeviceState state : worker.devices()) {
      if (!WorkerResources.GPUS.equals(state.device().resource())) {
        continue;
      }
      double held = Math.clamp(state.taken(), 0, 1);
      total += 1;
      kueue += held;
      others += state.device().busy() == null ? 0 : 1 - held;
    }
    return total == 0
        ? null
        : new FleetView.Bar("GPU", "GPUs", total, kueue, others, total - kueue - others);
  }

  /**
   * Kueue's part is what its jobs reserved; the others' part is what the worker measured other
   * programs using, or without a measurement the load beyond Kueue's part (the load counts Kueue's
   * jobs too), so a job that uses less than it asked for shows no one else's use. Free is what the
   * scheduler places with (list-workers shows the same): it rounds the others' use to whole CPUs
   * and always offers one CPU on a worker that runs no job, so it is not total minus the parts.
   */
  static FleetView.Bar cpuBar(WorkerSummary worker) {
    double total = worker.capacity().total().cpus();
    double kueue = Math.min(total, worker.reserved().cpus());
    WorkerUsage usage = worker.capacity().usage();
    double beyond =
        usage != null ? usage.othersCpus() : Math.max(0, worker.capacity().loadCpus() - kueue);
    double others = Math.min(total - kueue, beyond);
    double free = worker.free() == null ? total - kueue - others : worker.free().cpus();
    return new FleetView.Bar("CPU", "cores", total, kueue, others, free);
  }

  /**
   * Kueue's part is reserved RAM; the others' part is what other programs use as measured, or
   * without a measurement the used RAM beyond Kueue's part. Free is what the scheduler places with,
   * never more than the OS reports available.
   */
  static FleetView.Bar ramBar(WorkerSummary worker) {
    double total = worker.capacity().total().ramMb();
    double kueue = Math.min(total, worker.reserved().ramMb());
    WorkerUsage usage = worker.capacity().usage();
    double used = Math.max(0, total - worker.capacity().availableRamMb());
    double beyond = usage != null ? usage.othersRamMb() : Math.max(0, used - kueue);
    double others = Math.min(total - kueue, beyond);
    double free = worker.free() == null ? total - kueue - others : worker.free().ramMb();
    return new FleetView.Bar("RAM", "MB", total, kueue, others, free);
  }

  private void record(Instant now, JobStats stats, List<WorkerSummary> workers) {
    long minuteStart = now.getEpochSecond() / 60 * 60;
    Minute current = minutes.peekLast();
    if (current == null || current.start != minuteStart) {
      current = new Minute(minuteStart);
      minutes.addLast(current);
      while (minutes.size() > HISTORY_MINUTES) {
        minutes.removeFirst();
      }
    }
    long finished = stats.succeeded() + stats.failed();
    if (lastFinished != null) {
      // clean-jobs lowers the count; that is not a negative throughput.
      current.finished += Math.max(0, finished - lastFinished);
    }
    lastFinished = finished;
    long cpus = 0;
    long reserved = 0;
    for (WorkerSummary worker : workers) {
      cpus += worker.capacity().total().cpus();
      reserved += worker.reserved().cpus();
    }
    current.cpuUseSum += cpus == 0 ? 0 : Math.min(1.0, reserved / (double) cpus);
    current.samples++;
  }

  private FleetView.History history() {
    List<Long> starts = new ArrayList<>(minutes.size());
    List<Long> finished = new ArrayList<>(minutes.size());
    List<Double> use = new ArrayList<>(minutes.size());
    for (Minute minute : minutes) {
      starts.add(minute.start);
      finished.add(minute.finished);
      use.add(minute.samples == 0 ? null : minute.cpuUseSum / minute.samples);
    }
    return new FleetView.History(starts, finished, use);
  }
}
