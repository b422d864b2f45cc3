package kueue.dashboard;

import java.time.Instant;
import java.util.List;
import kueue.model.BatchSummary;
import kueue.model.JobStats;

/**
 * What the dashboard's pages show of the fleet at one moment, sent to them as JSON whenever it
 * changes.
 *
 * @param serverError why the Kueue server could not be asked, or null
 * @param stats jobs per state over all stored jobs, or null before the first answer
 * @param workers connected workers, then the ones lost since the dashboard started
 * @param batches the newest batches, newest first
 * @param history per minute: jobs finished and the fleet's use, oldest first
 */
record FleetView(
    Instant time,
    String serverError,
    JobStats stats,
    List<WorkerView> workers,
    List<BatchSummary> batches,
    History history) {

  FleetView withoutTime() {
    return new FleetView(null, serverError, stats, workers, batches, history);
  }

  /**
   * @param connected false for a worker the server no longer lists
   * @param bars one per resource: CPUs, RAM, and GPUs when the worker has any
   * @param jobs its offered and running jobs
   */
  record WorkerView(
      long id,
      String name,
      String hostname,
      boolean connected,
      Instant connectedSince,
      Instant lastSeen,
      int slotsUsed,
      int slotsTotal,
      double load1,
      List<Bar> bars,
      List<RunningJob> jobs) {}

  /**
   * A resource of one worker: what Kueue's jobs and everything else take of it, and what is free.
   *
   * @param kueue reserved by Kueue's jobs
   * @param others taken by everything else on the machine, as measured (a fraction of a CPU too)
   * @param free what the scheduler can still place there, the free of list-workers: for CPUs it
   *     counts the others' use in whole CPUs, so the three need not add up to total; 0 for a lost
   *     worker
   */
  record Bar(
      String resource, String unit, double total, double kueue, double others, double free) {}

  record RunningJob(long id, String state, String command, Instant started, Long batch) {}

  /**
   * @param minutes the start of each minute, epoch seconds
   * @param finished jobs that ended with an exit code (succeeded or failed) in that minute
   * @param cpuUse reserved CPUs over all connected workers' CPUs, 0 to 1, averaged over the minute;
   *     null before the dashboard started
   */
  record History(List<Long> minutes, List<Long> finished, List<Double> cpuUse) {}
}
