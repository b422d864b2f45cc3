package kueue.client;

import java.util.ArrayList;
import java.util.List;
import kueue.model.BatchSummary;
import kueue.model.JobStats;

/**
 * The table of {@code list-jobs --batches}: one line per batch with its job ids, how many of its
 * jobs are pending, held, waiting for their dependencies, run (offered ones included), succeeded,
 * failed or were canceled, their average run time, the batch's ETA and its command.
 */
final class BatchTable {
  private BatchTable() {}

  static List<String> render(List<BatchSummary> batches, int width, boolean colors) {
    // The columns of held, dependency-waiting and timed-out jobs are shown only when a listed
    // batch has some.
    boolean timeouts = batches.stream().anyMatch(batch -> batch.stats().timedOut() > 0);
    boolean held = batches.stream().anyMatch(batch -> batch.stats().held() > 0);
    boolean waiting = batches.stream().anyMatch(batch -> batch.stats().waiting() > 0);
    List<TextTable.Column> columns = new ArrayList<>();
    columns.add(TextTable.Column.right("batch"));
    // On a narrow terminal the job ids go first (show the batch's jobs), then the average.
    columns.add(TextTable.Column.left("jobs").droppable(2));
    columns.add(TextTable.Column.right("pending"));
    if (held) {
      columns.add(TextTable.Column.right("held"));
    }
    if (waiting) {
      columns.add(TextTable.Column.right("waiting"));
    }
    columns.add(TextTable.Column.right("running"));
    columns.add(TextTable.Column.right("succeeded"));
    columns.add(TextTable.Column.right("failed"));
    columns.add(TextTable.Column.right("canceled"));
    if (timeouts) {
      columns.add(TextTable.Column.right("timed out"));
    }
    columns.add(TextTable.Column.right("avg").droppable(1));
    columns.add(TextTable.Column.right("ETA"));
    columns.add(TextTable.Column.clipBack("command", 12));
    TextTable table = new TextTable(columns);
    for (BatchSummary batch : batches) {
      JobStats stats = batch.stats();
      List<TextTable.Cell> cells = new ArrayList<>();
      cells.add(TextTable.Cell.of(String.valueOf(batch.batch())));
      cells.add(TextTable.Cell.of(BatchFormat.range(batch.firstJob(), batch.lastJob())));
      cells.add(
          count(
              stats.pending() + (held ? 0 : stats.held()) + (waiting ? 0 : stats.waiting()),
              Style.PLAIN));
      if (held) {
        cells.add(count(stats.held(), Style.GREY));
      }
      if (waiting) {
        cells.add(count(stats.waiting(), Style.PLAIN));
      }
      cells.add(count(stats.offered() + stats.running(), Style.BLUE));
      cells.add(count(stats.succeeded(), Style.GREEN));
      cells.add(count(stats.failed(), Style.RED));
      cells.add(count(stats.canceled(), Style.GREY));
      if (timeouts) {
        cells.add(count(stats.timedOut(), Style.RED));
      }
      cells.add(
          TextTable.Cell.of(
              stats.averageRunSeconds() == null
                  ? "-"
                  : Durations.compactSeconds(stats.averageRunSeconds())));
      cells.add(
          TextTable.Cell.of(
              batch.active() == 0 || stats.etaSeconds() == null
                  ? "-"
                  : Durations.estimate(stats.etaSeconds())));
      cells.add(TextTable.Cell.of(batch.command() == null ? "-" : batch.command()));
      table.row(cells);
    }
    return table.render(width, colors);
  }

  private static TextTable.Cell count(long count, Style style) {
    return new TextTable.Cell(String.valueOf(count), count > 0 ? style : Style.PLAIN);
  }
}
