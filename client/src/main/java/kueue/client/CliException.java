package kueue.client;

/**
 * A failure the CLI reports as one line on stderr with a specific exit code (see {@link
 * ExitCodes}).
 */
public final class CliException extends Exception {
  private final int exitCode;

  CliException(int exitCode, String message) {
    super(message);
    this.exitCode = exitCode;
  }

  CliException(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  public int exitCode() {
    return exitCode;
  }
}
