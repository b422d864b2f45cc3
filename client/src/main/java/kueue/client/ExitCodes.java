package kueue.client;

/**
 * Exit codes of {@code kueue} itself. Commands that wait for jobs exit with the job's own code
 * instead, so a job can produce any of these too.
 */
final class ExitCodes {
  static final int OK = 0;
  static final int UNEXPECTED = 1;
  static final int USAGE_OR_CONFIG = 2;
  static final int SERVER_UNREACHABLE = 3;
  static final int AUTHENTICATION_FAILED = 4;
  static final int REQUEST_FAILED = 5;

  /** What a shell reports for a command that could not be started. */
  static final int JOB_NOT_STARTED = 127;

  /** What a shell reports after Ctrl-C (128 + SIGINT): a canceled job was interrupted. */
  static final int JOB_CANCELED = 130;

  private ExitCodes() {}
}
