package kueue.core;

import java.util.List;
import kueue.model.AttemptRef;
import kueue.model.BatchEntry;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobUpdate;
import kueue.model.WorkerCapacity;

/**
 * An input to the scheduler. Commands come from client and worker sessions (via the server's loop
 * thread) and from the clock ({@link Tick}). Commands that expect an answer carry a requestId that
 * comes back in the matching {@link Effect}.
 */
public sealed interface Command {

  /**
   * Queue jobs, all or nothing. Answered by SubmitAccepted, RequestRejected, or SubmitRaced when a
   * job named by a dependency ended after targets was looked up (look up again and resubmit).
   *
   * @param targets what the jobs and batches named by the specs' dependencies are, as stored
   */
  record Submit(long requestId, List<JobSpec> jobs, DependencyTargets targets) implements Command {
    public Submit(long requestId, List<JobSpec> jobs) {
      this(requestId, jobs, DependencyTargets.NONE);
    }
  }

  /**
   * Queue a batch, all or nothing: one job per entry, each with the shared spec, the entry's argv
   * (or the shared one when the entry has none) and the entry's index. The jobs get consecutive ids
   * in entry order and the first id is the batch id. Answered by SubmitAccepted or by
   * RequestRejected naming the index of the first entry that cannot be queued.
   */
  record SubmitBatch(
      long requestId, JobSpec shared, List<BatchEntry> entries, DependencyTargets targets)
      implements Command {
    public SubmitBatch(long requestId, JobSpec shared, List<BatchEntry> entries) {
      this(requestId, shared, entries, DependencyTargets.NONE);
    }
  }

  /**
   * Hold, release or change jobs that have not started. Jobs that cannot be changed (unknown,
   * ended, started, or not held for a release) are skipped with the reason. Answered by
   * JobsUpdated.
   */
  record UpdateJobs(long requestId, List<Long> jobIds, JobUpdate update) implements Command {}

  /**
   * Put ended jobs back in the queue as new attempts ({@code kueue requeue}): the jobs asked for
   * and the jobs canceled because of them, as the store has them (state: the state they ended in;
   * dependencies: each with where its parent stands). Jobs that have not ended are skipped.
   * Answered by JobsUpdated, or SubmitRaced when a parent ended after the look-up.
   *
   * @param asked the ids the user named (the others are dependents that come back with them)
   */
  record Rerun(long requestId, List<RestoredJob> jobs, java.util.Set<Long> asked)
      implements Command {}

  /**
   * Cancel a job. A pending job is canceled; an offered or running one only with kill, which also
   * tells its worker to kill it. Answered by JobCancelAnswered or RequestRejected.
   */
  record Cancel(long requestId, long jobId, boolean kill) implements Command {}

  /**
   * Cancel several jobs in one step, e.g. a batch: pending ones always, offered and running ones
   * only with kill. Jobs that have already ended are skipped. Answered by CancelJobsAnswered.
   */
  record CancelJobs(long requestId, List<Long> jobIds, boolean kill) implements Command {}

  /** A worker registered. running: attempts it still runs (after a reconnect or server restart). */
  record ConnectWorker(
      long workerId, String name, WorkerCapacity capacity, List<AttemptRef> running)
      implements Command {}

  /** A heartbeat: new capacity, and proof of life. */
  record UpdateWorker(long workerId, WorkerCapacity capacity) implements Command {}

  /**
   * The worker's connection closed. Its offered and running jobs keep their resources and wait for
   * a worker to claim them (the same worker, reconnecting); a Tick after the worker timeout sends
   * the unclaimed ones back to pending as a lost attempt.
   */
  record DisconnectWorker(long workerId, String reason) implements Command {}

  /**
   * The worker killed this attempt because it is stopping (SIGINT/SIGTERM): the job goes back to
   * pending at once. Not counted toward the maximum attempts: the job did nothing wrong.
   */
  record Release(long workerId, long jobId, int attempt, String reason) implements Command {}

  /** The worker will not run this attempt; permanent means never on this worker. */
  record Decline(long workerId, long jobId, int attempt, boolean permanent, String reason)
      implements Command {}

  /** The worker started the process of this attempt. */
  record MarkStarted(long workerId, long jobId, int attempt, java.time.Instant at)
      implements Command {}

  /** The attempt ended on the worker (also for attempts that were killed or never started). */
  record MarkEnded(
      long workerId,
      long jobId,
      int attempt,
      JobOutcome outcome,
      CapturedOutput stdout,
      CapturedOutput stderr)
      implements Command {}

  /** Time passed: expire offers, presume silent workers lost, expire old finished jobs. */
  record Tick() implements Command {}
}
