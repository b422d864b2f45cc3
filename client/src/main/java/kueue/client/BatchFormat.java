package kueue.client;

import java.util.ArrayList;
import java.util.List;
import kueue.model.BatchSummary;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.protocol.Message;

/** How batches read in the human output. */
final class BatchFormat {
  private BatchFormat() {}

  /** "batch 12: jobs 12-1011", or "batch 12: job 12" for a batch of one. */
  static String submitted(Message.BatchSubmitted submitted) {
    List<Long> ids = submitted.ids();
    if (ids.size() == 1) {
      return "batch " + submitted.batch() + ": job " + ids.getFirst();
    }
    return "batch " + submitted.batch() + ": jobs " + range(ids.getFirst(), ids.getLast());
  }

  static String range(long first, long last) {
    return first == last ? String.valueOf(first) : first + "-" + last;
  }

  /** "12[7]": job of batch 12 with index 7; "-" for a job outside a batch. */
  static String member(JobSummary job) {
    if (job.batch() == null) {
      return "-";
    }
    return job.batch() + "[" + (job.arrayIndex() == null ? "?" : job.arrayIndex()) + "]";
  }

  /**
   * One sentence on how the batch ended, e.g. "batch 12: 996 of 1000 jobs succeeded, 2 failed, 1
   * timed out, 1 canceled; first: job 57 [index 46] failed with exit code 1".
   */
  static String ending(BatchSummary batch) {
    JobStats stats = batch.stats();
    String name = "batch " + batch.batch();
    if (stats.succeeded() == batch.jobs()) {
      return batch.jobs() == 1
          ? name + ": its job succeeded"
          : name + ": all " + batch.jobs() + " jobs succeeded";
    }
    List<String> parts = new ArrayList<>();
    parts.add(stats.succeeded() + " of " + batch.jobs() + " jobs succeeded");
    if (stats.failed() > 0) {
      parts.add(stats.failed() + " failed");
    }
    if (stats.timedOut() > 0) {
      parts.add(stats.timedOut() + " timed out");
    }
    if (stats.canceled() > 0) {
      parts.add(stats.canceled() + " canceled");
    }
    long active = batch.active();
    if (active > 0) {
      parts.add(active + " not ended");
    }
    String text = name + ": " + String.join(", ", parts);
    JobSummary failure = batch.firstFailure();
    if (failure != null) {
      String ending = JobFormat.ending(failure);
      String index = failure.arrayIndex() == null ? "" : " [index " + failure.arrayIndex() + "]";
      // JobFormat says "job 57 failed ..."; the index goes right after the id.
      String prefix = "job " + failure.id();
      text +=
          "; first: "
              + (ending.startsWith(prefix)
                  ? prefix + index + ending.substring(prefix.length())
                  : ending);
    }
    return text;
  }

  /** 0 if every job succeeded, else the exit code of the first job that did not. */
  static int exitCode(BatchSummary batch) {
    if (batch.firstFailure() != null) {
      return JobFormat.exitCode(batch.firstFailure());
    }
    return batch.stats().succeeded() == batch.jobs() ? ExitCodes.OK : ExitCodes.UNEXPECTED;
  }
}
