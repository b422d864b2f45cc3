package kueue.model;

import java.time.Instant;

/**
 * How one attempt of a job ended on its worker.
 *
 * @param exitCode the process's exit code; null when it did not exit normally or never started
 * @param signal the signal that ended it (e.g. 9), or null
 * @param failure why the job could not run at all (e.g. "command not found: foo"), or null
 * @param started when the process started, null if it never did
 * @param ended when the worker saw it end
 * @param timedOut the worker stopped it because it reached the job's time limit; never null (a peer
 *     that does not send it means false)
 */
public record JobOutcome(
    Integer exitCode,
    Integer signal,
    String failure,
    Instant started,
    Instant ended,
    Boolean timedOut) {

  public JobOutcome {
    timedOut = Boolean.TRUE.equals(timedOut);
  }

  /** An attempt that ended by itself, or was killed for another reason than its time limit. */
  public JobOutcome(
      Integer exitCode, Integer signal, String failure, Instant started, Instant ended) {
    this(exitCode, signal, failure, started, ended, false);
  }

  /** The same outcome, marked as stopped at the job's time limit. */
  public JobOutcome asTimedOut() {
    return new JobOutcome(exitCode, signal, failure, started, ended, true);
  }

  public boolean succeeded() {
    return exitCode != null && exitCode == 0 && failure == null && !timedOut();
  }

  /**
   * The exit code a shell would report, used by {@code --wait}: the real code, 128+signal when
   * killed, 127 when the command could not be started.
   */
  public int shellExitCode() {
    if (exitCode != null) {
      return exitCode;
    }
    if (signal != null) {
      return 128 + signal;
    }
    return 127;
  }
}
