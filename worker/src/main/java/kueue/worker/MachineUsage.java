package kueue.worker;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.model.WorkerUsage;

/**
 * How much of the machine other programs use, from two samples of its counters: the whole machine's
 * CPU time and used RAM minus those of the worker and its jobs. Pure arithmetic; the shell ({@link
 * UsageMonitor}) reads the samples from /proc.
 */
final class MachineUsage {
  private MachineUsage() {}

  /**
   * The machine's CPU counters from the first line of /proc/stat, in clock ticks summed over all
   * CPUs.
   *
   * @param busy ticks spent running anything (user, nice, system, irq, softirq)
   * @param all busy plus idle, iowait and steal: the wall time times the number of CPUs
   * @param cpus how many CPUs the counters sum over
   */
  record CpuTicks(long busy, long all, int cpus) {}

  /**
   * One process of the worker or its jobs, known by its pid and start time (a pid may be reused).
   *
   * @param ownTicks its user and system time
   * @param reapedTicks the user and system time of its children that ended and that it waited for
   *     (which the kernel adds here when it waits for them)
   * @param rssKb its resident memory
   */
  record ProcessTicks(
      long pid, long parentPid, long startTicks, long ownTicks, long reapedTicks, long rssKb) {
    long ticks() {
      return ownTicks + reapedTicks;
    }
  }

  /**
   * One reading of the machine and of Kueue's processes (the worker itself and every process
   * started under it) at the same moment.
   */
  record Sample(CpuTicks cpu, long memTotalKb, long memAvailableKb, List<ProcessTicks> kueue) {
    Sample {
      kueue = List.copyOf(kueue);
    }
  }

  private record Identity(long pid, long startTicks) {
    static Identity of(ProcessTicks process) {
      return new Identity(process.pid(), process.startTicks());
    }
  }

  /**
   * Use between two samples; null when no time passed between them. CPU figures average over the
   * interval; RAM is the later sample's.
   *
   * <p>Kueue's CPU time in the interval is what each of its processes in the later sample gained
   * (all of it for a process that is new). A process that ended meanwhile and was waited for by one
   * of Kueue's processes shows up whole in its parent's reaped time, so what it had used before the
   * interval is taken off again; one that had left Kueue's tree before it ended (its parent gone,
   * adopted by init) took its time with it and counts nothing.
   */
  static WorkerUsage between(Sample earlier, Sample later, double windowSeconds) {
    long allTicks = later.cpu().all() - earlier.cpu().all();
    int cpus = Math.max(1, later.cpu().cpus());
    if (allTicks <= 0) {
      return null;
    }
    double ticksPerCpu = allTicks / (double) cpus;
    double machineCpus = clamp((later.cpu().busy() - earlier.cpu().busy()) / ticksPerCpu, 0, cpus);
    double kueueCpus =
        clamp(kueueTicks(earlier.kueue(), later.kueue()) / ticksPerCpu, 0, machineCpus);

    long usedKb = Math.max(0, later.memTotalKb() - later.memAvailableKb());
    long kueueRssKb = 0;
    for (ProcessTicks process : later.kueue()) {
      kueueRssKb += Math.max(0, process.rssKb());
    }
    long othersKb = Math.max(0, usedKb - kueueRssKb);
    return new WorkerUsage(
        machineCpus - kueueCpus, othersKb / 1024, kueueCpus, kueueRssKb / 1024, windowSeconds);
  }

  static long kueueTicks(List<ProcessTicks> earlier, List<ProcessTicks> later) {
    Map<Identity, ProcessTicks> before = new HashMap<>();
    Map<Long, ProcessTicks> beforeByPid = new HashMap<>();
    for (ProcessTicks process : earlier) {
      before.put(Identity.of(process), process);
      beforeByPid.put(process.pid(), process);
    }
    Set<Identity> after = new HashSet<>();
    Set<Long> afterPids = new HashSet<>();
    long ticks = 0;
    for (ProcessTicks process : later) {
      after.add(Identity.of(process));
      afterPids.add(process.pid());
      ProcessTicks previous = before.get(Identity.of(process));
      ticks += Math.max(0, process.ticks() - (previous == null ? 0 : previous.ticks()));
    }
    for (ProcessTicks gone : earlier) {
      if (!after.contains(Identity.of(gone))
          && waitedForByKueue(gone, beforeByPid, after, afterPids)) {
        ticks -= gone.ticks();
      }
    }
    return Math.max(0, ticks);
  }

  /**
   * Whether a process that ended was waited for by one of Kueue's processes still there: its
   * parent, or, when the parent ended too, whoever waited for the parent.
   */
  private static boolean waitedForByKueue(
      ProcessTicks gone,
      Map<Long, ProcessTicks> beforeByPid,
      Set<Identity> after,
      Set<Long> afterPids) {
    ProcessTicks process = gone;
    for (int depth = 0; depth < beforeByPid.size(); depth++) {
      ProcessTicks parent = beforeByPid.get(process.parentPid());
      if (parent == null) {
        return afterPids.contains(process.parentPid());
      }
      if (after.contains(Identity.of(parent))) {
        return true;
      }
      process = parent;
    }
    return false;
  }

  private static double clamp(double value, double min, double max) {
    return Math.max(min, Math.min(max, value));
  }

  /**
   * The samples of the last few seconds. Use is measured between the newest sample and the newest
   * one that is at least the window old (the oldest kept), so one short spike is averaged over the
   * whole window instead of flipping placement.
   */
  static final class Window {
    private record Timed(long nanos, Sample sample) {}

    private final long windowNanos;
    private final ArrayDeque<Timed> samples = new ArrayDeque<>();

    Window(long windowNanos) {
      this.windowNanos = windowNanos;
    }

    void add(long nanos, Sample sample) {
      samples.addLast(new Timed(nanos, sample));
      while (samples.size() > 2 && secondOldest().nanos() <= nanos - windowNanos) {
        samples.removeFirst();
      }
    }

    void clear() {
      samples.clear();
    }

    /** Use over the window; null before there are two samples. */
    WorkerUsage usage() {
      if (samples.size() < 2) {
        return null;
      }
      Timed oldest = samples.getFirst();
      Timed newest = samples.getLast();
      return between(oldest.sample(), newest.sample(), (newest.nanos() - oldest.nanos()) / 1e9);
    }

    private Timed secondOldest() {
      var iterator = samples.iterator();
      iterator.next();
      return iterator.next();
    }
  }
}
