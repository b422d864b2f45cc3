package kueue.client;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import kueue.model.SystemInfo;
import kueue.model.WorkerSummary;

/** The worker table of list-workers. */
final class WorkerFormat {
  private WorkerFormat() {}

  static List<String> render(List<WorkerSummary> workers, int width, boolean colors) {
    TextTable table =
        new TextTable(
            List.of(
                TextTable.Column.right("id"),
                TextTable.Column.clipBack("name", 8).asLastResort(),
                TextTable.Column.clipBack("os", 8),
                TextTable.Column.right("cores"),
                TextTable.Column.right("MHz"),
                TextTable.Column.right("RAM free/total"),
                TextTable.Column.right("jobs"),
                TextTable.Column.right("busy"),
                TextTable.Column.left("load 1/5/15"),
                TextTable.Column.right("uptime")));
    for (WorkerSummary worker : workers) {
      SystemInfo system = worker.system();
      table.row(
          List.of(
              TextTable.Cell.of(String.valueOf(worker.id())),
              TextTable.Cell.of(worker.name()),
              TextTable.Cell.of(system == null ? "-" : orDash(system.os())),
              TextTable.Cell.of(system == null ? "-" : String.valueOf(system.cores())),
              TextTable.Cell.of(system == null ? "-" : mhz(system.cpuMhz())),
              TextTable.Cell.of(system == null ? "-" : ram(system)),
              TextTable.Cell.of(String.valueOf(worker.runningJobs())),
              new TextTable.Cell(busy(worker.busyness()), busyStyle(worker.busyness())),
              TextTable.Cell.of(system == null ? "-" : load(system)),
              TextTable.Cell.of(system == null ? "-" : uptime(system))));
    }
    return table.render(width, colors);
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
