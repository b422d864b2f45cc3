package kueue.model;

import java.util.List;

/**
 * One job of a batch: its index and, when it differs from the batch's shared spec, its own argv.
 *
 * @param index the {@code --array} value or the {@code --file} line number; unique in the batch
 * @param argv the job's program and arguments, or null to run the shared spec's argv
 */
public record BatchEntry(long index, List<String> argv) {
  public BatchEntry {
    argv = argv == null ? null : List.copyOf(argv);
  }
}
