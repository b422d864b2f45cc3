package kueue.core;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import kueue.model.ResourceUsage;

/**
 * The scheduling core: jobs that have not ended, connected workers, the pending queue, global
 * resources and timeouts, as a plain state machine. No I/O, no threads, no clock: the time of every
 * input is an argument, so the same inputs always give the same decisions. One thread (the server's
 * loop) owns an instance.
 *
 * <p>Finished and canceled jobs leave the scheduler's memory: they live only in the store.
 */
public final class Scheduler {

  public Scheduler(SchedulerSettings settings, long nextJobId) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /**
   * Puts jobs read from the store back, at start-up, before any command. OFFERED and RUNNING jobs
   * wait for their worker to reconnect and claim them; unclaimed ones are requeued by the first
   * Tick after {@code now + workerTimeout}.
   */
  public void restore(List<RestoredJob> jobs, Instant now) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** Applies one command at time now; decisions are appended to out. Does not place jobs. */
  public void handle(Command command, Instant now, Decisions out) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /**
   * Offers pending jobs to workers that fit them, least busy first, within the global limits.
   * Called once after each batch of commands.
   */
  public void place(Instant now, Decisions out) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** The job if it has not ended, with why it is still pending. */
  public Optional<ActiveJobView> activeJob(long jobId) {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public List<WorkerView> workers() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  public List<ResourceUsage> resources() {
    throw new UnsupportedOperationException("not implemented yet");
  }

  /** The id the next submitted job will get. */
  public long nextJobId() {
    throw new UnsupportedOperationException("not implemented yet");
  }
}
