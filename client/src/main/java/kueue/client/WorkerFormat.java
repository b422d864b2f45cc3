package kueue.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import kueue.model.DeviceState;
import kueue.model.SystemInfo;
import kueue.model.WorkerResources;
import kueue.model.WorkerSummary;

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
    columns.add(TextTable.Column.right("RAM free/total"));
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
      cells.add(TextTable.Cell.of(system == null ? "-" : ram(system)));
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
