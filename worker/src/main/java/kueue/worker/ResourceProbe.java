package kueue.worker;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import kueue.config.KueueConfig;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerUsage;

/**
 * Reads what this machine has and how busy it is from /proc and /etc/os-release. A file that is
 * missing or unreadable gives zeros or empty text, never an exception, so a worker on an unusual
 * system still runs and simply reports less.
 */
public final class ResourceProbe {
  private final KueueConfig.Worker settings;
  private final Path proc;
  private final Path osRelease;

  public ResourceProbe(KueueConfig.Worker settings) {
    this(settings, Path.of("/proc"), Path.of("/etc/os-release"));
  }

  ResourceProbe(KueueConfig.Worker settings, Path proc, Path osRelease) {
    this.settings = settings;
    this.proc = proc;
    this.osRelease = osRelease;
  }

  public SystemInfo systemInfo() {
    List<String> meminfo = lines(proc.resolve("meminfo"));
    String[] load = firstLine(proc.resolve("loadavg")).split("\\s+");
    String[] uptime = firstLine(proc.resolve("uptime")).split("\\s+");
    return new SystemInfo(
        hostname(),
        osName(),
        kernel(),
        Runtime.getRuntime().availableProcessors(),
        cpuMhz(),
        meminfoMb(meminfo, "MemTotal"),
        meminfoMb(meminfo, "MemAvailable"),
        number(load, 0),
        number(load, 1),
        number(load, 2),
        (long) number(uptime, 0));
  }

  /**
   * What this worker offers, from a fresh {@link #systemInfo()}, without a measurement of its
   * machine's use.
   */
  public WorkerCapacity capacity(SystemInfo system) {
    return capacity(system, null);
  }

  /**
   * What this worker offers. In dynamic mode other programs take CPUs and RAM away: as measured
   * ({@code usage}, which leaves the worker and its jobs out), or without a measurement by the load
   * average and the RAM the OS reports available; in static mode only the totals matter.
   */
  public WorkerCapacity capacity(SystemInfo system, WorkerUsage usage) {
    Resources total =
        new Resources(
            Math.max(0, settings.workerMaxParallelJobs()), system.cores(), system.totalRamMb());
    if (!settings.dynamicCheckFreeResources()) {
      return new WorkerCapacity(total, 0, system.totalRamMb());
    }
    double scale = settings.dynamicCpuLoadScaleFactor();
    if (usage != null) {
      // Rounded to the nearest CPU: a fraction of one CPU used by background services must not
      // take a whole CPU away.
      long others = Math.round(Math.max(0, usage.othersCpus() * scale));
      return new WorkerCapacity(
          total, (int) Math.min(Integer.MAX_VALUE, others), system.availableRamMb(), null, usage);
    }
    double busy = Math.max(0, system.load1() * scale);
    int loadCpus = (int) Math.min(Integer.MAX_VALUE, Math.ceil(busy));
    return new WorkerCapacity(total, loadCpus, system.availableRamMb());
  }

  /** The host name as the kernel knows it, which needs no name service. */
  public String hostname() {
    String name = firstLine(proc.resolve("sys/kernel/hostname")).trim();
    if (!name.isEmpty()) {
      return name;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }

  private String osName() {
    for (String line : lines(osRelease)) {
      if (line.startsWith("PRETTY_NAME=")) {
        String value = line.substring("PRETTY_NAME=".length()).trim();
        if (value.length() >= 2
            && (value.startsWith("\"") && value.endsWith("\"")
                || value.startsWith("'") && value.endsWith("'"))) {
          value = value.substring(1, value.length() - 1);
        }
        return value;
      }
    }
    return System.getProperty("os.name", "");
  }

  private String kernel() {
    String release = firstLine(proc.resolve("sys/kernel/osrelease")).trim();
    return release.isEmpty() ? System.getProperty("os.version", "") : release;
  }

  /** The average current frequency over all cores; 0 when the machine does not say. */
  private double cpuMhz() {
    double sum = 0;
    int count = 0;
    for (String line : lines(proc.resolve("cpuinfo"))) {
      if (line.startsWith("cpu MHz")) {
        int colon = line.indexOf(':');
        double value = colon < 0 ? 0 : parse(line.substring(colon + 1).trim());
        if (value > 0) {
          sum += value;
          count++;
        }
      }
    }
    return count == 0 ? 0 : sum / count;
  }

  private static long meminfoMb(List<String> meminfo, String key) {
    for (String line : meminfo) {
      if (line.startsWith(key + ":")) {
        String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
        return (long) parse(parts[0]) / 1024;
      }
    }
    return 0;
  }

  private static double number(String[] fields, int index) {
    return index < fields.length ? parse(fields[index]) : 0;
  }

  private static double parse(String text) {
    try {
      double value = Double.parseDouble(text);
      return Double.isFinite(value) && value > 0 ? value : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String firstLine(Path file) {
    List<String> lines = lines(file);
    return lines.isEmpty() ? "" : lines.getFirst();
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }
}
