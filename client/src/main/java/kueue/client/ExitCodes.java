package kueue.client;

import kueue.protocol.RequestConnection;

/**
 * Exit codes of {@code kueue} itself. Commands that wait for jobs exit with the job's own code
 * instead, so a job can produce any of these too.
 */
final class ExitCodes {
  static final int OK = 0;
  // kueue_restart_workers gives the same codes for a server it cannot ask.
  static final int UNEXPECTED = RequestConnection.Kind.UNEXPECTED.exitCode();
  static final int USAGE_OR_CONFIG = RequestConnection.Kind.SETTINGS.exitCode();
  static final int SERVER_UNREACHABLE = RequestConnection.Kind.UNREACHABLE.exitCode();
  static final int AUTHENTICATION_FAILED = RequestConnection.Kind.AUTHENTICATION.exitCode();
  static final int REQUEST_FAILED = RequestConnection.Kind.REFUSED.exitCode();

  /** What a shell reports for a command that could not be started. */
  static final int JOB_NOT_STARTED = 127;

  /** What timeout(1) reports for a command it stopped at its time limit. */
  static final int JOB_TIMED_OUT = 124;

  /** What a shell reports after Ctrl-C (128 + SIGINT): a canceled job was interrupted. */
  static final int JOB_CANCELED = 130;

  /**
   * Ctrl-C while {@code cmd --wait}, {@code wait-job} or a follow waited: the jobs go on. It is
   * sysexits.h's EX_TEMPFAIL ("try again later"): wait again with {@code kueue wait-job}. Not 130,
   * which says the job was canceled.
   */
  static final int WAIT_INTERRUPTED = 75;

  private ExitCodes() {}
}
