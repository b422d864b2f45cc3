package kueue.store;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import kueue.core.DependencyTargets;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.AttemptOutput;
import kueue.model.BatchSummary;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobQuery;
import kueue.model.JobSpec;
import kueue.model.JobStats;
import kueue.model.JobSummary;

/**
 * Durable home of every job: specs, states, history and results. The server's loop thread is the
 * only writer ({@link #persist}); reads may come from any thread at the same time and see the last
 * committed state.
 */
public interface JobStore extends AutoCloseable {
  /**
   * Jobs deleted by one expiry or one chunk of a cleanup: a million expired jobs deleted at once
   * would hold up the scheduler loop (and everybody waiting for it) for many seconds, so they go in
   * chunks of this many, each a short transaction of its own (see {@link #expire}).
   */
  int EXPIRY_CHUNK = 5_000;

  /**
   * The attempts of one job whose output is kept: the last ones. A job retried a thousand times
   * keeps as much output as one retried this often.
   */
  int KEPT_OUTPUT_ATTEMPTS = 10;

  /** The smallest job id never handed out, also across restarts and after cleanups. */
  long nextJobId();

  /**
   * The id given to each named worker so far: a worker keeps its id across its reconnections and
   * the server's restarts.
   */
  Map<String, Long> workerIds();

  /** Remembers the id given to the worker of this name; durable when this returns. */
  void saveWorkerId(String name, long id);

  /** Jobs that are not FINISHED or CANCELED, for {@code Scheduler.restore}, in id order. */
  default List<RestoredJob> activeJobs() {
    List<RestoredJob> jobs = new ArrayList<>();
    activeJobs(jobs::add);
    jobs.sort(Comparator.comparingLong(RestoredJob::jobId));
    return jobs;
  }

  /**
   * Hands the jobs of {@link #activeJobs()} to each as they are read, pending ones first, each
   * state in id order: a million restored jobs need not be held in a list on their way to the
   * scheduler.
   */
  void activeJobs(Consumer<RestoredJob> each);

  /**
   * Applies the events of one batch in one transaction, in order. When this returns they are
   * durable; if it throws, none of them is stored.
   */
  void persist(List<Event> events);

  /**
   * What the ids named by dependencies stand for: each stored job or batch (a batch id stands for
   * its stored jobs, the first one included), and which of those jobs have ended and how.
   */
  DependencyTargets dependencyTargets(Collection<Long> ids);

  /**
   * What {@code kueue requeue} of these jobs brings back, in id order: each of them that is stored,
   * and the jobs canceled because a dependency on one of them failed, down the chain; each with its
   * stored state and its dependencies with where their parents stand.
   */
  List<RestoredJob> rerunCandidates(Collection<Long> ids);

  /** The full spec, environment included, to send to a worker. */
  Optional<JobSpec> spec(long jobId);

  Optional<JobSummary> summary(long jobId);

  /** Summaries of the given jobs that exist, in id order. */
  List<JobSummary> summaries(List<Long> jobIds);

  Optional<JobDetail> detail(long jobId);

  /**
   * The output kept of one attempt of the job; empty when the job, the attempt or its output is not
   * kept (an attempt that printed nothing, one older than the last {@link #KEPT_OUTPUT_ATTEMPTS}).
   */
  Optional<AttemptOutput> output(long jobId, int attempt);

  /**
   * The newest {@code limit} jobs matching any of the filters (all jobs when filters is empty; no
   * limit when limit is 0), returned oldest first.
   */
  List<JobSummary> list(int limit, List<JobFilter> filters);

  /**
   * The id just before the {@code newest}-th newest job matching the filters (of the batch, when
   * not null): listing from there lists the newest {@code newest} jobs. 0 when there are no more
   * than that many.
   */
  long idBeforeNewest(Long batch, List<JobFilter> filters, int newest);

  /**
   * Up to {@code max} jobs with ids above {@code afterId} matching any of the filters (all jobs
   * when filters is empty), of the batch when not null, oldest first: one page of a listing that
   * may be longer than one message can carry.
   */
  List<JobSummary> listAfter(Long batch, List<JobFilter> filters, long afterId, int max);

  /**
   * The ids of the stored jobs that a submission with this key created, in id order; empty when
   * none (never submitted, refused, or cleaned since).
   */
  List<Long> jobIdsWithSubmissionKey(String key);

  /** One page of the jobs the query matches, in the query's order. */
  List<JobSummary> page(JobQuery query);

  /**
   * Per minute since the given time: how many stored jobs ended with an exit code (succeeded or
   * failed), as minute start (epoch seconds) to count, ascending, minutes without any left out.
   */
  java.util.SortedMap<Long, Long> endedPerMinute(Instant since);

  /** Counts over all stored jobs, average run time and ETA as of now. */
  JobStats stats(Instant now);

  /**
   * The newest {@code limit} jobs of one batch matching any of the filters (all of its jobs when
   * filters is empty; no limit when limit is 0), oldest first; empty when no such batch is stored.
   */
  List<JobSummary> listBatch(long batch, int limit, List<JobFilter> filters);

  /** Where the batch stands as of now, over its stored jobs; empty when none of them is stored. */
  Optional<BatchSummary> batch(long batch, Instant now);

  /**
   * The newest {@code limit} batches (no limit when 0) that have a job matching any of the filters
   * (all batches when filters is empty), oldest first.
   */
  List<BatchSummary> batches(int limit, List<JobFilter> filters, Instant now);

  /** Ids of the batch's jobs that are pending, offered or running, in id order. */
  List<Long> activeJobIds(long batch);

  /**
   * Deletes succeeded and canceled jobs, and failed ones too when includeFailed; returns how many.
   */
  long clean(boolean includeFailed);

  /**
   * Like {@link #clean(boolean)}, but deletes at most limit jobs, in one short transaction, so that
   * the single writer can do other work in between; repeat while it returns limit.
   */
  long clean(boolean includeFailed, int limit);

  /**
   * Deletes at most limit finished or canceled jobs that ended before the cutoff, in one short
   * transaction; returns how many. Persisting {@code FinishedJobsExpired} deletes only one such
   * chunk, so whoever persists it repeats this until it returns less than limit.
   */
  long expire(Instant endedBefore, int limit);

  @Override
  void close();
}
