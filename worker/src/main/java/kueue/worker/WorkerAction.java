package kueue.worker;

import java.util.List;
import java.util.Map;
import kueue.model.AttemptRef;
import kueue.model.JobSpec;
import kueue.protocol.Message;

/** What {@link WorkerCore} asks its shell to carry out, in the order it returns them. */
sealed interface WorkerAction {

  /** Writes the messages to the connection of the session, in one write. */
  record Send(long session, List<Message> messages) implements WorkerAction {
    Send(long session, Message message) {
      this(session, List.of(message));
    }
  }

  /**
   * Starts the attempt's process with the devices its offer gave it (indices by resource name); its
   * start and end come back as inputs.
   */
  record StartProcess(AttemptRef ref, JobSpec spec, Map<String, List<Integer>> devices)
      implements WorkerAction {
    StartProcess(AttemptRef ref, JobSpec spec) {
      this(ref, spec, Map.of());
    }
  }

  /**
   * Kills the attempt's process (TERM, then KILL after the grace period); nothing when it has no
   * process yet, since the core asks again once it has one.
   */
  record KillProcess(AttemptRef ref) implements WorkerAction {}

  /**
   * Sends one signal to the attempt's process group (TERM, or KILL when force), with no KILL to
   * follow by itself; nothing when it has no process.
   */
  record SignalProcess(AttemptRef ref, boolean force) implements WorkerAction {}

  /**
   * Answers the request on the session from the attempt's output, once there is some (see {@link
   * Message.OutputRequest}); that the attempt is not here when the shell has no process for it.
   */
  record AnswerOutput(long session, Message.OutputRequest request) implements WorkerAction {}

  record CloseConnection(long session) implements WorkerAction {}

  record Log(Level level, String text) implements WorkerAction {}

  enum Level {
    DEBUG,
    INFO,
    WARN
  }
}
