package kueue.core;

import java.util.List;
import java.util.Map;

/**
 * Something the server must do after the events of the same batch are stored: answer a client, talk
 * to a worker, wake waiters.
 */
public sealed interface Effect {

  record SubmitAccepted(long requestId, List<Long> jobIds) implements Effect {}

  record CancelAccepted(long requestId, long jobId) implements Effect {}

  /**
   * The answer to CancelJobs. canceled: jobs canceled now; left: jobs on a worker that were kept
   * because kill was not asked for. Jobs that had already ended are in neither list.
   */
  record CancelJobsAnswered(long requestId, List<Long> canceled, List<Long> left)
      implements Effect {}

  record RequestRejected(long requestId, String reason) implements Effect {}

  /** A job named by a dependency ended after it was looked up: look up again and resubmit. */
  record SubmitRaced(long requestId) implements Effect {}

  /** The answer to UpdateJobs: jobs changed, and for each job skipped why. */
  record JobsUpdated(long requestId, List<Long> updated, List<String> skipped) implements Effect {}

  /** Send the job's spec (read from the store) to the worker as an Offer. */
  record SendOffer(long workerId, long jobId, int attempt, Map<String, List<Integer>> devices)
      implements Effect {

    public SendOffer {
      devices = devices == null ? Map.of() : devices;
    }

    public SendOffer(long workerId, long jobId, int attempt) {
      this(workerId, jobId, attempt, Map.of());
    }
  }

  record SendKill(long workerId, long jobId, int attempt, String reason) implements Effect {}

  /** Tell the worker that the result of this attempt is stored or no longer wanted. */
  record ConfirmResult(long workerId, long jobId, int attempt) implements Effect {}

  /** These jobs reached FINISHED or CANCELED: wake whoever waits for them. */
  record JobsTerminated(List<Long> jobIds) implements Effect {}

  /** Close the worker's connection (it was presumed lost). */
  record CloseWorker(long workerId, String reason) implements Effect {}
}
