package kueue.client;

import java.io.PrintStream;

/**
 * What Ctrl-C says and exits with while a command waits for jobs that go on without it. In a
 * process of its own the command sets it here, for a shutdown hook (Ctrl-C ends the JVM through its
 * hooks); in the CLI daemon, the daemon passes it to the relay, which Ctrl-C reaches instead.
 */
public interface InterruptHints {
  /**
   * @param hint what to print, or null for Ctrl-C's usual end
   * @param exitCode what to exit with after printing it
   */
  void set(String hint, int exitCode);

  /** The one for a command in this process: a shutdown hook, registered when first needed. */
  InterruptHints OWN_PROCESS = new OwnProcess(System.err);

  /** Forgets the hint, so that the process's own exit does not print it. */
  static void clearOwnProcess() {
    ((OwnProcess) OWN_PROCESS).clear();
  }

  /** The hint as a shutdown hook of this JVM. */
  final class OwnProcess implements InterruptHints {
    private final PrintStream err;
    private volatile String hint;
    private volatile int exitCode;
    private boolean hooked;

    OwnProcess(PrintStream err) {
      this.err = err;
    }

    @Override
    public synchronized void set(String hint, int exitCode) {
      this.exitCode = exitCode;
      this.hint = hint;
      if (hint != null && !hooked) {
        hooked = true;
        Runtime.getRuntime().addShutdownHook(new Thread(this::interrupted, "interrupt-hint"));
      }
    }

    void clear() {
      hint = null;
    }

    private void interrupted() {
      String text = hint;
      if (text != null) {
        err.println();
        err.println(text);
        err.flush();
        // Halting from a shutdown hook ends the JVM with this code rather than 130 (SIGINT),
        // which the waiting commands use for a canceled job.
        Runtime.getRuntime().halt(exitCode);
      }
    }
  }
}
