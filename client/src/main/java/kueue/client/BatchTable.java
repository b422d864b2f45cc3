package kueue.client;

import java.util.List;
import kueue.model.BatchSummary;
import kueue.model.JobStats;

/**
 * The table of {@code list-jobs --batches}: one line per batch with its job ids, how many of its
 * jobs wait, run (offered ones included), succeeded, failed or were canceled, their average run
 * time, the batch's ETA and its command.
 */
final class BatchTable {
  private BatchTable() {}

  static List<String> render(List<BatchSummary> batches, int width, boolean colors) {
    TextTable table =
        new TextTable(
            List.of(
                TextTable.Column.right("batch"),
                TextTable.Column.left("jobs"),
                TextTable.Column.right("pending"),
                TextTable.Column.right("running"),
                TextTable.Column.right("succeeded"),
                TextTable.Column.right("failed"),
                TextTable.Column.right("canceled"),
                TextTable.Column.right("avg"),
                TextTable.Column.right("ETA"),
                TextTable.Column.clipBack("command", 12)));
    for (BatchSummary batch : batches) {
      JobStats stats = batch.stats();
      table.row(
          List.of(
              TextTable.Cell.of(String.valueOf(batch.batch())),
              TextTable.Cell.of(BatchFormat.range(batch.firstJob(), batch.lastJob())),
              count(stats.pending() + stats.held() + stats.waiting(), Style.PLAIN),
              count(stats.offered() + stats.running(), Style.BLUE),
              count(stats.succeeded(), Style.GREEN),
              count(stats.failed(), Style.RED),
              count(stats.canceled(), Style.GREY),
              TextTable.Cell.of(
                  stats.averageRunSeconds() == null
                      ? "-"
                      : Durations.compactSeconds(stats.averageRunSeconds())),
              TextTable.Cell.of(
                  batch.active() == 0 || stats.etaSeconds() == null
                      ? "-"
                      : Durations.estimate(stats.etaSeconds())),
              TextTable.Cell.of(batch.command() == null ? "-" : batch.command())));
    }
    return table.render(width, colors);
  }

  private static TextTable.Cell count(long count, Style style) {
    return new TextTable.Cell(String.valueOf(count), count > 0 ? style : Style.PLAIN);
  }
}
