package kueue.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.WorkerUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples the machine and the worker's own processes from /proc every {@link #SAMPLE_PERIOD} and
 * keeps the samples of the last {@link #WINDOW} for {@link MachineUsage}. Kueue's processes are the
 * worker and everything started under it (its jobs, their children, the reaper); a process that
 * once was one of them stays one while it lives, even after it left the tree (a daemon adopted by
 * init). A /proc that cannot be read makes {@link #current()} null, so that the worker counts the
 * load average instead; that is logged once.
 */
final class UsageMonitor {
  static final Duration SAMPLE_PERIOD = Duration.ofSeconds(1);
  static final Duration WINDOW = Duration.ofSeconds(5);
  private static final Logger log = LoggerFactory.getLogger(UsageMonitor.class);

  private final Path proc;
  private final long workerPid;
  private final MachineUsage.Window window = new MachineUsage.Window(WINDOW.toNanos());

  /** Kueue's processes of the last sample: pid to start time. */
  private Map<Long, Long> known = Map.of();

  private boolean failing;
  private boolean failureLogged;

  UsageMonitor() {
    this(Path.of("/proc"), ProcessHandle.current().pid());
  }

  UsageMonitor(Path proc, long workerPid) {
    this.proc = proc;
    this.workerPid = workerPid;
  }

  /** Takes one sample; never throws. */
  synchronized void sample(long nanos) {
    try {
      window.add(nanos, read());
      failing = false;
    } catch (IOException | RuntimeException e) {
      window.clear();
      failing = true;
      if (!failureLogged) {
        failureLogged = true;
        log.warn(
            "cannot measure other programs' use from {} ({}); counting the load average instead",
            proc,
            e.toString());
      }
    }
  }

  /** Use over the last window; null while it cannot be measured (yet). */
  synchronized WorkerUsage current() {
    return failing ? null : window.usage();
  }

  MachineUsage.Sample read() throws IOException {
    MachineUsage.CpuTicks cpu =
        cpuTicks(Files.readAllLines(proc.resolve("stat"), StandardCharsets.ISO_8859_1));
    long memTotal = -1;
    long memAvailable = -1;
    for (String line : Files.readAllLines(proc.resolve("meminfo"), StandardCharsets.ISO_8859_1)) {
      if (line.startsWith("MemTotal:")) {
        memTotal = kilobytes(line);
      } else if (line.startsWith("MemAvailable:")) {
        memAvailable = kilobytes(line);
      }
    }
    if (memTotal < 0 || memAvailable < 0) {
      throw new IOException("no MemTotal or MemAvailable in meminfo");
    }
    List<MachineUsage.ProcessTicks> kueue = kueueProcesses();
    Map<Long, Long> seen = new HashMap<>();
    for (MachineUsage.ProcessTicks process : kueue) {
      seen.put(process.pid(), process.startTicks());
    }
    known = seen;
    return new MachineUsage.Sample(cpu, memTotal, memAvailable, kueue);
  }

  static MachineUsage.CpuTicks cpuTicks(List<String> stat) throws IOException {
    if (stat.isEmpty() || !stat.getFirst().startsWith("cpu ")) {
      throw new IOException("stat does not start with the cpu line");
    }
    String[] fields = stat.getFirst().substring(4).trim().split("\\s+");
    if (fields.length < 4) {
      throw new IOException("too few fields in the cpu line of stat");
    }
    long[] ticks = new long[8]; // user nice system idle iowait irq softirq steal; guest is in user
    for (int i = 0; i < Math.min(fields.length, ticks.length); i++) {
      ticks[i] = Long.parseLong(fields[i]);
    }
    long busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6];
    long all = busy + ticks[3] + ticks[4] + ticks[7];
    int cpus = 0;
    for (String line : stat) {
      if (line.length() > 3 && line.startsWith("cpu") && Character.isDigit(line.charAt(3))) {
        cpus++;
      }
    }
    return new MachineUsage.CpuTicks(busy, all, Math.max(1, cpus));
  }

  /** The worker, everything under it, and whatever was one of them and still lives. */
  private List<MachineUsage.ProcessTicks> kueueProcesses() throws IOException {
    Map<Long, MachineUsage.ProcessTicks> found = new LinkedHashMap<>();
    MachineUsage.ProcessTicks worker = process(workerPid);
    if (worker == null) {
      throw new IOException("cannot read the worker's own stat");
    }
    found.put(workerPid, worker);
    ChildLister lister = new ChildLister();
    addDescendants(workerPid, found, lister);
    for (Map.Entry<Long, Long> earlier : known.entrySet()) {
      long pid = earlier.getKey();
      if (found.containsKey(pid)) {
        continue;
      }
      MachineUsage.ProcessTicks process = process(pid);
      // A different start time: the pid now names a process that was never Kueue's.
      if (process != null && process.startTicks() == earlier.getValue()) {
        found.put(pid, process);
        addDescendants(pid, found, lister);
      }
    }
    return new ArrayList<>(found.values());
  }

  private void addDescendants(
      long root, Map<Long, MachineUsage.ProcessTicks> found, ChildLister lister)
      throws IOException {
    ArrayDeque<Long> toVisit = new ArrayDeque<>(lister.children(root));
    while (!toVisit.isEmpty()) {
      long pid = toVisit.removeFirst();
      if (found.containsKey(pid)) {
        continue;
      }
      MachineUsage.ProcessTicks process = process(pid);
      if (process != null) {
        found.put(pid, process);
        toVisit.addAll(lister.children(pid));
      }
    }
  }

  /** Lists children from /proc/PID/task/TID/children, or from one scan of all of /proc. */
  private final class ChildLister {
    private Map<Long, List<Long>> byScan;

    List<Long> children(long pid) throws IOException {
      if (byScan == null) {
        List<Long> listed = UsageMonitor.this.children(pid);
        if (listed != null) {
          return listed;
        }
        byScan = scanChildren();
      }
      return byScan.getOrDefault(pid, List.of());
    }
  }

  /** The children of every thread of a process; null when the kernel does not list them. */
  private List<Long> children(long pid) {
    Path tasks = proc.resolve(Long.toString(pid)).resolve("task");
    List<Long> children = new ArrayList<>();
    try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
      for (Path thread : threads) {
        String text;
        try {
          text = Files.readString(thread.resolve("children"), StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
          if (Files.isDirectory(thread)) {
            return null; // a kernel without /proc/PID/task/TID/children
          }
          continue; // the thread ended
        }
        for (String child : text.trim().split("\\s+")) {
          if (!child.isEmpty()) {
            children.add(Long.parseLong(child));
          }
        }
      }
    } catch (IOException e) {
      // the process ended
    }
    return children;
  }

  /** Parent to children for every process, for a kernel that does not list children. */
  private Map<Long, List<Long>> scanChildren() throws IOException {
    Map<Long, List<Long>> children = new HashMap<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(proc)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
          continue;
        }
        long pid;
        try {
          pid = Long.parseLong(name);
        } catch (NumberFormatException e) {
          continue;
        }
        String[] fields = statFields(pid);
        if (fields != null) {
          children.computeIfAbsent(Long.parseLong(fields[1]), parent -> new ArrayList<>()).add(pid);
        }
      }
    }
    return children;
  }

  /** One process's times and memory; null when it has ended. */
  private MachineUsage.ProcessTicks process(long pid) {
    String[] fields = statFields(pid);
    if (fields == null || fields.length < 20) {
      return null;
    }
    try {
      return new MachineUsage.ProcessTicks(
          pid,
          Long.parseLong(fields[1]),
          Long.parseLong(fields[19]),
          Long.parseLong(fields[11]) + Long.parseLong(fields[12]),
          Long.parseLong(fields[13]) + Long.parseLong(fields[14]),
          rssKb(pid));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The fields of /proc/PID/stat after the command name: [0] is the state, [1] the parent. */
  private String[] statFields(long pid) {
    try {
      String stat =
          Files.readString(
              proc.resolve(Long.toString(pid)).resolve("stat"), StandardCharsets.ISO_8859_1);
      // The command name in parentheses may hold spaces and parentheses: count after its end.
      int end = stat.lastIndexOf(')');
      return end < 0 ? null : stat.substring(end + 2).trim().split(" ");
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private long rssKb(long pid) {
    try {
      for (String line :
          Files.readAllLines(
              proc.resolve(Long.toString(pid)).resolve("status"), StandardCharsets.ISO_8859_1)) {
        if (line.startsWith("VmRSS:")) {
          return kilobytes(line);
        }
      }
    } catch (IOException | RuntimeException e) {
      // ended, or a kernel thread: no memory of its own
    }
    return 0;
  }

  private static long kilobytes(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
    return Long.parseLong(parts[0]);
  }
}
