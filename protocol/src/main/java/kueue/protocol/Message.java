package kueue.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.AttemptRef;
import kueue.model.BatchEntry;
import kueue.model.BatchSummary;
import kueue.model.CapturedOutput;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobOutcome;
import kueue.model.JobQuery;
import kueue.model.JobSpec;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobUpdate;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import kueue.model.ResourceUsage;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerSummary;

/**
 * Every message of the Kueue protocol, version {@link #PROTOCOL_VERSION}. One JSON object per line;
 * the "type" field names the record. docs/PROTOCOL.md describes each exchange. The nested
 * interfaces say who may send what, so a session can reject a message that is valid JSON but comes
 * from the wrong side or at the wrong time.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Message.Hello.class, name = "hello"),
  @JsonSubTypes.Type(value = Message.Challenge.class, name = "challenge"),
  @JsonSubTypes.Type(value = Message.Authenticate.class, name = "authenticate"),
  @JsonSubTypes.Type(value = Message.Welcome.class, name = "welcome"),
  @JsonSubTypes.Type(value = Message.Failure.class, name = "failure"),
  @JsonSubTypes.Type(value = Message.Submit.class, name = "submit"),
  @JsonSubTypes.Type(value = Message.Submitted.class, name = "submitted"),
  @JsonSubTypes.Type(value = Message.ListJobs.class, name = "list_jobs"),
  @JsonSubTypes.Type(value = Message.JobList.class, name = "job_list"),
  @JsonSubTypes.Type(value = Message.ShowJob.class, name = "show_job"),
  @JsonSubTypes.Type(value = Message.JobDetails.class, name = "job_details"),
  @JsonSubTypes.Type(value = Message.WaitJobs.class, name = "wait_jobs"),
  @JsonSubTypes.Type(value = Message.JobsEnded.class, name = "jobs_ended"),
  @JsonSubTypes.Type(value = Message.PendingReason.class, name = "pending_reason"),
  @JsonSubTypes.Type(value = Message.RemoveJob.class, name = "remove_job"),
  @JsonSubTypes.Type(value = Message.JobRemoved.class, name = "job_removed"),
  @JsonSubTypes.Type(value = Message.CleanJobs.class, name = "clean_jobs"),
  @JsonSubTypes.Type(value = Message.JobsCleaned.class, name = "jobs_cleaned"),
  @JsonSubTypes.Type(value = Message.ListWorkers.class, name = "list_workers"),
  @JsonSubTypes.Type(value = Message.WorkerList.class, name = "worker_list"),
  @JsonSubTypes.Type(value = Message.ShowWorker.class, name = "show_worker"),
  @JsonSubTypes.Type(value = Message.WorkerDetails.class, name = "worker_details"),
  @JsonSubTypes.Type(value = Message.ListResources.class, name = "list_resources"),
  @JsonSubTypes.Type(value = Message.ResourceList.class, name = "resource_list"),
  @JsonSubTypes.Type(value = Message.Register.class, name = "register"),
  @JsonSubTypes.Type(value = Message.Registered.class, name = "registered"),
  @JsonSubTypes.Type(value = Message.Heartbeat.class, name = "heartbeat"),
  @JsonSubTypes.Type(value = Message.Offer.class, name = "offer"),
  @JsonSubTypes.Type(value = Message.Declined.class, name = "declined"),
  @JsonSubTypes.Type(value = Message.Started.class, name = "started"),
  @JsonSubTypes.Type(value = Message.Ended.class, name = "ended"),
  @JsonSubTypes.Type(value = Message.ResultStored.class, name = "result_stored"),
  @JsonSubTypes.Type(value = Message.Kill.class, name = "kill"),
  @JsonSubTypes.Type(value = Message.Released.class, name = "released"),
  @JsonSubTypes.Type(value = Message.HeartbeatAck.class, name = "heartbeat_ack"),
  @JsonSubTypes.Type(value = Message.SubmitBatch.class, name = "submit_batch"),
  @JsonSubTypes.Type(value = Message.BatchSubmitted.class, name = "batch_submitted"),
  @JsonSubTypes.Type(value = Message.ListBatches.class, name = "list_batches"),
  @JsonSubTypes.Type(value = Message.BatchList.class, name = "batch_list"),
  @JsonSubTypes.Type(value = Message.WaitBatch.class, name = "wait_batch"),
  @JsonSubTypes.Type(value = Message.BatchEnded.class, name = "batch_ended"),
  @JsonSubTypes.Type(value = Message.RemoveBatch.class, name = "remove_batch"),
  @JsonSubTypes.Type(value = Message.BatchRemoved.class, name = "batch_removed"),
  @JsonSubTypes.Type(value = Message.ReadOutput.class, name = "read_output"),
  @JsonSubTypes.Type(value = Message.OutputRead.class, name = "output_read"),
  @JsonSubTypes.Type(value = Message.OutputRequest.class, name = "output_request"),
  @JsonSubTypes.Type(value = Message.Output.class, name = "output"),
  @JsonSubTypes.Type(value = Message.FindJobs.class, name = "find_jobs"),
  @JsonSubTypes.Type(value = Message.CountEnded.class, name = "count_ended"),
  @JsonSubTypes.Type(value = Message.EndedPerMinute.class, name = "ended_per_minute"),
  @JsonSubTypes.Type(value = Message.UpdateJobs.class, name = "update_jobs"),
  @JsonSubTypes.Type(value = Message.JobsUpdated.class, name = "jobs_updated"),
  @JsonSubTypes.Type(value = Message.Requeue.class, name = "requeue"),
})
public sealed interface Message {
  int PROTOCOL_VERSION = 2;

  /** The most jobs one submit or submit_batch may hold. */
  int MAX_JOBS_PER_SUBMIT = 100_000;

  /** Messages of the handshake (both directions). */
  sealed interface Handshake extends Message {}

  /** What a client may send once authenticated; each gets exactly one reply, in order. */
  sealed interface Request extends Message {}

  /** What the server answers to a {@link Request}; {@link Failure} is the error reply. */
  sealed interface Reply extends Message {}

  /** What an authenticated worker may send. */
  sealed interface FromWorker extends Message {}

  /** What the server sends to a worker. */
  sealed interface ToWorker extends Message {}

  // ---- handshake: see Handshakes for the proofs ----

  /** First message of every connection, from the client or worker. role is "client" or "worker". */
  record Hello(int protocol, String role, String nonce, String software) implements Handshake {}

  /**
   * The server's nonce. It carries nothing derived from the secret: the peer proves the secret
   * first, so a stranger learns nothing to test guesses against.
   */
  record Challenge(int protocol, String nonce) implements Handshake {}

  /** The peer's proof that it knows the secret, bound to both nonces. */
  record Authenticate(String proof) implements Handshake {}

  /**
   * Authentication succeeded; requests may follow. {@code proof} is the server's proof that it
   * knows the secret, bound to both nonces, sent only to a peer that proved it first.
   */
  record Welcome(String software, String proof) implements Handshake {}

  /**
   * Something went wrong. Codes: "auth", "version", "protocol", "bad_request", "not_found",
   * "rejected", "internal". During the handshake the connection is closed after it.
   */
  record Failure(String code, String message) implements Handshake, Reply, ToWorker {}

  // ---- client requests and replies ----

  /** Submit jobs, all or nothing. The reply lists their ids in the same order. */
  record Submit(List<JobSpec> jobs) implements Request {}

  record Submitted(List<Long> ids) implements Reply {}

  /**
   * The newest {@code limit} jobs (0: all) matching any of the filters (all states when empty),
   * newest last. With a batch, only that batch's jobs are listed and the stats are the batch's.
   *
   * <p>A listing longer than one page comes in pages: a reply with {@code nextAfterId} set is
   * continued by asking again with that {@code afterId} and, unless the limit was 0, the limit
   * reduced by the jobs received so far.
   */
  record ListJobs(int limit, List<JobFilter> filters, Long batch, Long afterId) implements Request {
    public ListJobs(int limit, List<JobFilter> filters) {
      this(limit, filters, null, null);
    }

    public ListJobs(int limit, List<JobFilter> filters, Long batch) {
      this(limit, filters, batch, null);
    }
  }

  /** nextAfterId: where the next page starts, or null when this reply ends the listing. */
  record JobList(
      List<JobSummary> jobs,
      JobStats stats,
      @JsonInclude(JsonInclude.Include.NON_NULL) Long nextAfterId)
      implements Reply {
    public JobList(List<JobSummary> jobs, JobStats stats) {
      this(jobs, stats, null);
    }
  }

  /**
   * One page of the jobs a query matches, in its order (the dashboard's jobs table). Answered with
   * a {@link JobList} with the stats of all jobs; an unknown batch has no jobs.
   */
  record FindJobs(JobQuery query) implements Request {}

  /**
   * How many stored jobs ended with an exit code (succeeded or failed) in each minute since the
   * given time, for the dashboard's throughput plot before it was started.
   */
  record CountEnded(Instant since) implements Request {}

  /** minutes: the start of each minute with at least one, epoch seconds, ascending; counts. */
  record EndedPerMinute(List<Long> minutes, List<Long> counts) implements Reply {}

  record ShowJob(long id) implements Request {}

  record JobDetails(JobDetail job) implements Reply {}

  /**
   * Answered with {@link JobsEnded} once every listed job has finished or was canceled. With {@code
   * reasons} true, the server sends a {@link PendingReason} before that whenever the reason a job
   * still waits changes (never in the first second); an older server ignores the field and sends
   * none.
   */
  record WaitJobs(List<Long> ids, @JsonInclude(JsonInclude.Include.NON_NULL) Boolean reasons)
      implements Request {
    public WaitJobs(List<Long> ids) {
      this(ids, null);
    }
  }

  /**
   * While a {@link WaitJobs}, {@link WaitBatch} or {@link ReadOutput} that asked for reasons is
   * being answered: why the first of its jobs that is not on a worker still waits (the text
   * show-job gives), or null once none waits any more. Zero or more come before the request's one
   * reply.
   */
  record PendingReason(long jobId, String reason) implements Reply {}

  record JobsEnded(List<JobSummary> jobs) implements Reply {}

  record RemoveJob(long id, boolean kill) implements Request {}

  record JobRemoved(JobSummary job) implements Reply {}

  record CleanJobs(boolean all) implements Request {}

  record JobsCleaned(long removed) implements Reply {}

  record ListWorkers() implements Request {}

  record WorkerList(List<WorkerSummary> workers) implements Reply {}

  record ShowWorker(long id) implements Request {}

  record WorkerDetails(WorkerSummary worker, List<JobSummary> jobs) implements Reply {}

  record ListResources() implements Request {}

  record ResourceList(List<ResourceUsage> resources) implements Reply {}

  // ---- batches: many jobs that share one spec (kueue cmd --array / --file) ----

  /**
   * Submit one job per entry, all or nothing. Every job gets the shared spec (sent once, with its
   * environment) with the entry's index and, when the entry has one, the entry's argv. Output file
   * names may use %a, %j, %b (see OutputTarget).
   */
  record SubmitBatch(JobSpec shared, List<BatchEntry> entries) implements Request {}

  /** batch: the batch id, which is the first job's id; ids: consecutive, in entry order. */
  record BatchSubmitted(long batch, List<Long> ids) implements Reply {}

  /**
   * The newest limit batches (0: all) that have a job matching any of the filters (all batches when
   * empty), newest last; stats as in {@link JobList}.
   */
  record ListBatches(int limit, List<JobFilter> filters) implements Request {}

  record BatchList(List<BatchSummary> batches, JobStats stats) implements Reply {}

  /**
   * Answered with {@link BatchEnded} when every job of the batch has finished or was canceled; the
   * reasons as for {@link WaitJobs}.
   */
  record WaitBatch(long batch, @JsonInclude(JsonInclude.Include.NON_NULL) Boolean reasons)
      implements Request {
    public WaitBatch(long batch) {
      this(batch, null);
    }
  }

  record BatchEnded(BatchSummary batch) implements Reply {}

  /** Cancel the batch's pending jobs, and with kill its offered and running ones too. */
  record RemoveBatch(long batch, boolean kill) implements Request {}

  /** canceled: jobs this request canceled; left: jobs still on a worker because kill was false. */
  record BatchRemoved(BatchSummary batch, long canceled, long left) implements Reply {}

  // ---- live output: the client pulls, the server asks the job's worker only while asked ----

  /**
   * What is new in the output of these jobs after their cursors. With follow, the answer waits
   * until one of them has something new (output, its start, the end of its attempt) or for at most
   * {@link #FOLLOW_WAIT_MILLIS}; without, it comes at once with what is there. With follow and
   * {@code reasons} true, the server sends a {@link PendingReason} while it waits whenever the
   * reason the first of these jobs that is not on a worker waits changes (never in the first
   * second), as for {@link WaitJobs}; an older server ignores the field and sends none.
   */
  record ReadOutput(
      List<OutputCursor> cursors,
      boolean follow,
      @JsonInclude(JsonInclude.Include.NON_NULL) Boolean reasons)
      implements Request {
    public ReadOutput(List<OutputCursor> cursors, boolean follow) {
      this(cursors, follow, null);
    }
  }

  /** The jobs with something new (every job asked for, without follow), in the order asked. */
  record OutputRead(List<OutputPart> parts) implements Reply {}

  /** The longest a followed read_output waits before it is answered with nothing new. */
  long FOLLOW_WAIT_MILLIS = 20_000;

  /** The most jobs one read_output may name. */
  int MAX_OUTPUT_CURSORS = 1000;

  // ---- changing jobs that have not started (kueue hold, release, update-job) ----

  /**
   * Apply update to the listed jobs, or with batch to the batch's jobs that have not ended. Jobs
   * that cannot take it (ended, started, not held for a release) are skipped, each with the reason.
   */
  record UpdateJobs(List<Long> ids, Long batch, JobUpdate update) implements Request {}

  /** updated: the jobs changed; skipped: one line per job left as it was, saying why. */
  record JobsUpdated(List<Long> updated, List<String> skipped) implements Reply {}

  /**
   * Put ended jobs back in the queue as new attempts under their ids: the listed ones, or with
   * batch the batch's ended jobs (only its failed ones with failed). Jobs canceled because a
   * dependency on one of them failed come back too. Answered by {@link JobsUpdated}.
   */
  record Requeue(List<Long> ids, Long batch, boolean failed) implements Request {}

  // ---- worker ----

  /**
   * First message after the handshake. running: attempts the worker still runs (after a reconnect);
   * ended: results the server has not yet confirmed with {@link ResultStored}.
   */
  record Register(
      String name,
      SystemInfo system,
      WorkerCapacity capacity,
      List<AttemptRef> running,
      List<Ended> ended,
      Integer environmentSlots)
      implements FromWorker {
    /**
     * A registration without environment slots: every offer then carries its job's whole
     * environment.
     */
    public Register(
        String name,
        SystemInfo system,
        WorkerCapacity capacity,
        List<AttemptRef> running,
        List<Ended> ended) {
      this(name, system, capacity, running, ended, null);
    }
  }

  record Registered(long workerId) implements ToWorker {}

  /** Sent every heartbeat interval and whenever the capacity changes. */
  record Heartbeat(SystemInfo system, WorkerCapacity capacity) implements FromWorker {}

  /**
   * Run this attempt. The worker answers with Started, or Declined when it cannot.
   *
   * <p>envSlot null: spec.env is the job's environment. Otherwise, for a worker that registered
   * {@link Register#environmentSlots()}: spec.env non-null is the environment and is kept in that
   * slot (replacing what the slot held); spec.env null means the environment kept in that slot.
   *
   * <p>devices: the indices of the worker's devices this attempt gets, by resource name (e.g.
   * {@code {"gpus": [0, 2]}}); null or empty for a job that asked for none.
   */
  record Offer(
      long jobId, int attempt, JobSpec spec, Integer envSlot, Map<String, List<Integer>> devices)
      implements ToWorker {
    /** An offer that carries its whole environment. */
    public Offer(long jobId, int attempt, JobSpec spec) {
      this(jobId, attempt, spec, null, null);
    }

    public Offer(long jobId, int attempt, JobSpec spec, Integer envSlot) {
      this(jobId, attempt, spec, envSlot, null);
    }

    /** The devices, never null. */
    public Map<String, List<Integer>> assigned() {
      return devices == null ? Map.of() : devices;
    }

    public Offer withSpec(JobSpec newSpec, Integer slot) {
      return new Offer(jobId, attempt, newSpec, slot, devices);
    }
  }

  /** permanent: this worker will never be able to run the job (e.g. cannot see its directory). */
  record Declined(long jobId, int attempt, boolean permanent, String reason)
      implements FromWorker {}

  record Started(long jobId, int attempt, Instant at) implements FromWorker {}

  record Ended(
      long jobId, int attempt, JobOutcome outcome, CapturedOutput stdout, CapturedOutput stderr)
      implements FromWorker {}

  /** The result of this attempt is stored (or no longer wanted); the worker may forget it. */
  record ResultStored(long jobId, int attempt) implements ToWorker {}

  /** Stop this attempt: canceled, or the worker's claim on it is gone. */
  record Kill(long jobId, int attempt, String reason) implements ToWorker {}

  /**
   * The worker killed this attempt because it is stopping (SIGINT/SIGTERM) and will not report it
   * ended: the server requeues the job at once. Sent once the process is gone, before closing.
   */
  record Released(long jobId, int attempt, String reason) implements FromWorker {}

  /**
   * Send what the attempt wrote from these offsets on (null: the stream is not wanted), once there
   * is something, the attempt ends, or waitMillis have passed; at most maxBytes. Answered with
   * {@link Output} carrying the same requestId.
   */
  record OutputRequest(
      long requestId,
      long jobId,
      int attempt,
      Long stdoutFrom,
      Long stderrFrom,
      long waitMillis,
      int maxBytes)
      implements ToWorker {}

  /**
   * found: the attempt's process is on this worker (otherwise nothing else counts); ended: its
   * process has ended and these pieces reach the end of what it wrote.
   */
  record Output(
      long requestId,
      long jobId,
      int attempt,
      boolean found,
      boolean ended,
      List<OutputPiece> pieces,
      long stdoutNext,
      long stderrNext)
      implements FromWorker {}

  /**
   * The server's answer to every heartbeat. A worker that hears nothing from the server for a while
   * knows the connection (or the server) is gone, even when TCP does not tell it.
   */
  record HeartbeatAck() implements ToWorker {}
}
