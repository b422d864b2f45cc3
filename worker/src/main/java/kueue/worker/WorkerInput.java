package kueue.worker;

import java.time.Instant;
import kueue.model.AttemptRef;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.protocol.Message;

/**
 * What happens to a worker, as {@link WorkerCore} is told about it. A session is one connection to
 * the server, numbered by the shell; messages name the session they arrived on.
 */
sealed interface WorkerInput {

  /** The handshake of a new connection succeeded; the registration is still to be sent. */
  record Connected(long session, SystemInfo system, WorkerCapacity capacity)
      implements WorkerInput {}

  /** The server accepted the registration sent on this session. */
  record Registered(long session, long workerId) implements WorkerInput {}

  /** The connection of this session is closed, whoever closed it. */
  record ConnectionLost(long session) implements WorkerInput {}

  /** Nothing listens on the server's port: the server process is down. */
  record ConnectionRefused() implements WorkerInput {}

  /**
   * An offer, with the shell's check of its working directory (null when it is usable, or when the
   * offer carries no job to check).
   */
  record OfferReceived(long session, Message.Offer offer, String directoryProblem)
      implements WorkerInput {}

  record KillReceived(long session, Message.Kill kill) implements WorkerInput {}

  record ResultStoredReceived(long session, Message.ResultStored stored) implements WorkerInput {}

  /** The server asks for output of an attempt, for someone who follows it. */
  record OutputRequested(long session, Message.OutputRequest request) implements WorkerInput {}

  /** Any other message from the server (heartbeat_ack, failure, ...): contact, nothing more. */
  record OtherReceived(long session, Message message) implements WorkerInput {}

  /** The attempt's process runs, and did not end within {@link WorkerAgent#QUICK_END}. */
  record ProcessStarted(AttemptRef ref, Instant at) implements WorkerInput {}

  /**
   * The attempt's process ended (or never started: then the outcome has no start time and says
   * why), and its output is read.
   */
  record ProcessEnded(AttemptRef ref, JobResult result) implements WorkerInput {}

  /** Time to check the contact with the server. */
  record Tick() implements WorkerInput {}

  /** SIGINT or SIGTERM: take no more work, kill every job. */
  record StopRequested() implements WorkerInput {}

  /** The stop has waited for the killed jobs (all gone, or the wait ran out). */
  record StopWaitOver() implements WorkerInput {}
}
