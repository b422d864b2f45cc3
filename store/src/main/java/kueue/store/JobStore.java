package kueue.store;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobSpec;
import kueue.model.JobStats;
import kueue.model.JobSummary;

/**
 * Durable home of every job: specs, states, history and results. The server's loop thread is the
 * only writer ({@link #persist}); reads may come from any thread at the same time and see the last
 * committed state.
 */
public interface JobStore extends AutoCloseable {

  /** The smallest job id never handed out, also across restarts and after cleanups. */
  long nextJobId();

  /** Jobs that are not FINISHED or CANCELED, for {@code Scheduler.restore}, in id order. */
  List<RestoredJob> activeJobs();

  /**
   * Applies the events of one batch in one transaction, in order. When this returns they are
   * durable; if it throws, none of them is stored.
   */
  void persist(List<Event> events);

  /** The full spec, environment included, to send to a worker. */
  Optional<JobSpec> spec(long jobId);

  Optional<JobSummary> summary(long jobId);

  /** Summaries of the given jobs that exist, in id order. */
  List<JobSummary> summaries(List<Long> jobIds);

  Optional<JobDetail> detail(long jobId);

  /**
   * The newest {@code limit} jobs matching any of the filters (all jobs when filters is empty;
   * no limit when limit is 0), returned oldest first.
   */
  List<JobSummary> list(int limit, List<JobFilter> filters);

  /** Counts over all stored jobs, average run time and ETA as of now. */
  JobStats stats(Instant now);

  /** Deletes succeeded and canceled jobs, and failed ones too when includeFailed; returns how many. */
  long clean(boolean includeFailed);

  @Override
  void close();
}
