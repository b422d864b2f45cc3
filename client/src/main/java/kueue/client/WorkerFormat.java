package kueue.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import kueue.model.DeviceState;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerResources;
import kueue.model.WorkerSummary;
import kueue.model.WorkerUsage;

/** The worker table of list-workers. */
final class WorkerFormat {
  private WorkerFormat() {}

  static List<String> render(List<WorkerSummary> workers, int width, boolean colors) {
    // The GPU column only for a fleet that has GPUs: elsewhere it would be dashes.
    boolean gpus = workers.stream().anyMatch(worker -> gpuCount(worker) > 0);
    List<TextTable.Column> columns = new ArrayList<>();
    columns.add(TextTable.Column.right("id"));
    columns.add(TextTable.Column.clipBack("name", 8).asLastResort());
    columns.add(TextTable.Column.clipBack("os", 8));
    columns.add(TextTable.Column.right("cores"));
    // On a narrow terminal the clock rate goes first, then the uptime, then the load.
    columns.add(TextTable.Column.right("MHz").droppable(3));
    // Kueue's part, other programs' (a "-" until a worker has measured it, in its first seconds
    // or where /proc cannot be read) and what is free for placement.
    columns.add(TextTable.Column.right("kueue"));
    columns.add(TextTable.Column.right("others"));
    columns.add(TextTable.Column.right("free"));
    if (gpus) {
      columns.add(TextTable.Column.right("GPUs free/total"));
    }
    columns.add(TextTable.Column.right("jobs"));
    columns.add(TextTable.Column.right("busy"));
    columns.add(TextTable.Column.left("load 1/5/15").droppable(1));
    columns.add(TextTable.Column.right("uptime").droppable(2));
    TextTable table = new TextTable(columns);
    for (WorkerSummary worker : workers) {
      SystemInfo system = worker.system();
      List<TextTable.Cell> cells = new ArrayList<>();
      cells.add(TextTable.Cell.of(String.valueOf(worker.id())));
      cells.add(TextTable.Cell.of(worker.name()));
      cells.add(TextTable.Cell.of(system == null ? "-" : orDash(system.os())));
      cells.add(TextTable.Cell.of(system == null ? "-" : String.valueOf(system.cores())));
      cells.add(TextTable.Cell.of(system == null ? "-" : mhz(system.cpuMhz())));
      cells.add(TextTable.Cell.of(kueue(worker)));
      cells.add(TextTable.Cell.of(others(worker)));
      cells.add(TextTable.Cell.of(cpusAndRam(worker.free())));
      if (gpus) {
        cells.add(TextTable.Cell.of(gpuCount(worker) == 0 ? "-" : gpuUse(worker)));
      }
      cells.add(TextTable.Cell.of(String.valueOf(worker.runningJobs())));
      cells.add(new TextTable.Cell(busy(worker.busyness()), busyStyle(worker.busyness())));
      cells.add(TextTable.Cell.of(system == null ? "-" : load(system)));
      cells.add(TextTable.Cell.of(system == null ? "-" : uptime(system)));
      table.row(cells);
    }
    return table.render(width, colors);
  }

  static boolean measured(WorkerSummary worker) {
    return worker.capacity() != null && worker.capacity().usage() != null;
  }

  /** "2c 4.0G": CPUs and GB of RAM Kueue's jobs reserve here. */
  static String kueue(WorkerSummary worker) {
    return cpusAndRam(worker.reserved());
  }

  /** "0.3c 1.2G": CPUs and GB of RAM other programs use here, as measured; "-" unmeasured. */
  static String others(WorkerSummary worker) {
    if (!measured(worker)) {
      return "-";
    }
    WorkerUsage usage = worker.capacity().usage();
    return String.format(Locale.ROOT, "%.1fc", usage.othersCpus())
        + " "
        + gigabytes(usage.othersRamMb())
        + "G";
  }

  static String cpusAndRam(Resources resources) {
    return resources == null ? "-" : resources.cpus() + "c " + gigabytes(resources.ramMb()) + "G";
  }

  static long gpuCount(WorkerSummary worker) {
    return worker.devices().stream()
        .filter(state -> state.device().resource().equals(WorkerResources.GPUS))
        .count();
  }

  /** "3/4": GPUs that neither a Kueue job nor anyone else uses, of all. */
  static String gpuUse(WorkerSummary worker) {
    long free =
        worker.devices().stream()
            .filter(state -> state.device().resource().equals(WorkerResources.GPUS))
            .filter(DeviceState::free)
            .count();
    return free + "/" + gpuCount(worker);
  }

  static String busy(double busyness) {
    return Math.round(Math.max(0, busyness) * 100) + "%";
  }

  private static Style busyStyle(double busyness) {
    if (busyness >= 0.999) {
      return Style.RED;
    }
    return busyness > 0 ? Style.YELLOW : Style.GREEN;
  }

  static String mhz(double mhz) {
    return mhz > 0 ? String.valueOf(Math.round(mhz)) : "-";
  }

  static String ram(SystemInfo system) {
    return gigabytes(system.availableRamMb()) + "/" + gigabytes(system.totalRamMb()) + " GB";
  }

  static String gigabytes(long megabytes) {
    return String.format(Locale.ROOT, "%.1f", megabytes / 1024.0);
  }

  static String load(SystemInfo system) {
    return String.format(
        Locale.ROOT, "%.2f %.2f %.2f", system.load1(), system.load5(), system.load15());
  }

  static String uptime(SystemInfo system) {
    return system.uptimeSeconds() > 0
        ? Durations.compact(Duration.ofSeconds(system.uptimeSeconds()))
        : "-";
  }

  private static String orDash(String text) {
    return text == null || text.isBlank() ? "-" : text;
  }
}
