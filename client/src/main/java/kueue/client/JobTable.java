package kueue.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import kueue.model.JobFilter;
import kueue.model.JobStats;
import kueue.model.JobSummary;

/** The job table of list-jobs and show-worker, and the list-jobs footer. */
final class JobTable {
  private JobTable() {}

  /** The batch column (BATCH[INDEX]) is there only when a listed job belongs to a batch. */
  static List<String> render(List<JobSummary> jobs, Instant now, int width, boolean colors) {
    boolean anyBatch = jobs.stream().anyMatch(job -> job.batch() != null);
    List<TextTable.Column> columns = new ArrayList<>();
    columns.add(TextTable.Column.right("id"));
    if (anyBatch) {
      columns.add(TextTable.Column.left("batch"));
    }
    columns.add(TextTable.Column.clipBack("status", 8).asLastResort());
    columns.add(TextTable.Column.clipBack("worker", 6).asLastResort());
    columns.add(TextTable.Column.right("runtime"));
    columns.add(TextTable.Column.clipFront("working directory", 12));
    columns.add(TextTable.Column.clipBack("command", 12));
    TextTable table = new TextTable(columns);
    for (JobSummary job : jobs) {
      List<TextTable.Cell> cells = new ArrayList<>();
      cells.add(TextTable.Cell.of(String.valueOf(job.id())));
      if (anyBatch) {
        cells.add(TextTable.Cell.of(BatchFormat.member(job)));
      }
      cells.add(new TextTable.Cell(JobFormat.status(job), JobFormat.style(job)));
      cells.add(TextTable.Cell.of(JobFormat.worker(job)));
      cells.add(TextTable.Cell.of(JobFormat.runtime(job, now)));
      cells.add(TextTable.Cell.of(nullToDash(job.cwd())));
      cells.add(TextTable.Cell.of(nullToDash(job.command())));
      table.row(cells);
    }
    return table.render(width, colors);
  }

  /**
   * "pending 3 · running 4 · succeeded 120 · failed 2 · canceled 0 avg 1m12s ETA 3m"; offered,
   * held, waiting and timed-out jobs are counted only when there are some.
   */
  static String footer(JobStats stats, boolean colors) {
    List<String> counts = new ArrayList<>();
    counts.add(count("pending", stats.pending(), Style.PLAIN, colors));
    if (stats.held() > 0) {
      counts.add(count("held", stats.held(), Style.GREY, colors));
    }
    if (stats.waiting() > 0) {
      counts.add(count("waiting", stats.waiting(), Style.PLAIN, colors));
    }
    if (stats.offered() > 0) {
      counts.add(count("offered", stats.offered(), Style.YELLOW, colors));
    }
    counts.add(count("running", stats.running(), Style.BLUE, colors));
    counts.add(count("succeeded", stats.succeeded(), Style.GREEN, colors));
    counts.add(count("failed", stats.failed(), Style.RED, colors));
    counts.add(count("canceled", stats.canceled(), Style.GREY, colors));
    if (stats.timedOut() > 0) {
      counts.add(count("timed out", stats.timedOut(), Style.RED, colors));
    }
    String average =
        stats.averageRunSeconds() == null
            ? "-"
            : Durations.compactSeconds(stats.averageRunSeconds());
    return String.join(" · ", counts) + "   avg " + average + "  ETA " + eta(stats);
  }

  /** The footer on a terminal this wide: the average and ETA on a line of their own if need be. */
  static String footer(JobStats stats, boolean colors, int width) {
    String line = footer(stats, colors);
    String plain = colors ? footer(stats, false) : line;
    if (DisplayWidth.of(plain) <= width) {
      return line;
    }
    int split = line.lastIndexOf("   avg ");
    return line.substring(0, split) + "\n" + line.substring(split + 3);
  }

  /** The estimate, or "-" and why there is none while jobs are left. */
  private static String eta(JobStats stats) {
    if (stats.etaSeconds() != null) {
      return Durations.estimate(stats.etaSeconds());
    }
    if (stats.pending() + stats.offered() + stats.running() == 0) {
      return "-";
    }
    if (stats.running() == 0) {
      return "- (nothing runs)";
    }
    return "- (no job has run to its end yet)";
  }

  private static String count(String state, long count, Style style, boolean colors) {
    return style.apply(state + " " + count, colors && count > 0);
  }

  /** How many stored jobs the filters select, from the footer's counts. */
  static long matching(JobStats stats, List<JobFilter> filters) {
    if (filters.isEmpty()) {
      return stats.pending()
          + stats.held()
          + stats.waiting()
          + stats.offered()
          + stats.running()
          + stats.succeeded()
          + stats.failed()
          + stats.canceled()
          + stats.timedOut();
    }
    long total = 0;
    for (JobFilter filter : filters) {
      total +=
          switch (filter) {
            case PENDING -> stats.pending();
            case HELD -> stats.held();
            case WAITING -> stats.waiting();
            case OFFERED -> stats.offered();
            case RUNNING -> stats.running();
            case SUCCEEDED -> stats.succeeded();
            case FAILED -> stats.failed();
            case CANCELED -> stats.canceled();
            case TIMED_OUT -> stats.timedOut();
          };
    }
    return total;
  }

  private static String nullToDash(String text) {
    return text == null || text.isEmpty() ? "-" : text;
  }
}
