package kueue.client;

/**
 * With KUEUE_TRACE_STARTUP set, prints to stderr how long each step of a command took, from {@code
 * main} on (the JVM's own start is the rest of the wall time). Profilers cost more than a whole
 * command, so this is how a slow start is taken apart (bench/README.md).
 */
final class StartupTrace {
  private static final boolean ENABLED = System.getenv("KUEUE_TRACE_STARTUP") != null;
  private static long last = System.nanoTime();

  private StartupTrace() {}

  /** Starts timing anew, for a process that runs many commands (the CLI daemon). */
  static void restart() {
    last = System.nanoTime();
  }

  static void mark(String step) {
    if (ENABLED) {
      long now = System.nanoTime();
      System.err.printf("kueue: trace: %-22s %7.1f ms%n", step, (now - last) / 1e6);
      last = now;
    }
  }
}
