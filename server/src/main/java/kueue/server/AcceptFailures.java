package kueue.server;

import java.time.Duration;
import java.time.Instant;

/**
 * What a listener does after {@code accept} fails, typically because the process has run out of
 * file descriptors: the failed connection stays in the kernel's backlog, so retrying at once fails
 * again at once, and a loop that only logs burns a core and fills the disk. Instead the listener
 * pauses, doubling from {@link #FIRST_PAUSE} to {@link #LONGEST_PAUSE} while failures go on, and
 * logs the first failure of a run, then one summary per {@link #LOG_INTERVAL}, then the recovery.
 *
 * <p>The time is an argument; one listener thread owns an instance.
 */
final class AcceptFailures {
  static final Duration FIRST_PAUSE = Duration.ofMillis(10);
  static final Duration LONGEST_PAUSE = Duration.ofSeconds(1);
  static final Duration LOG_INTERVAL = Duration.ofMinutes(1);

  private long failuresInRun;
  private long failuresNotLogged;
  private Duration nextPause = FIRST_PAUSE;
  private Instant lastLogged;

  /** What to do about one failure: how long to pause, and the log line to write, if any. */
  record Decision(Duration pause, String logLine) {}

  Decision failed(String error, Instant now) {
    failuresInRun++;
    Duration pause = nextPause;
    nextPause =
        pause.multipliedBy(2).compareTo(LONGEST_PAUSE) > 0 ? LONGEST_PAUSE : pause.multipliedBy(2);
    String line = null;
    if (failuresInRun == 1) {
      line = "accept failed: " + error + "; pausing accepts while this lasts";
      lastLogged = now;
    } else if (!now.isBefore(lastLogged.plus(LOG_INTERVAL))) {
      line =
          "accept still failing: "
              + error
              + " ("
              + (failuresNotLogged + 1)
              + " failures since the last line)";
      lastLogged = now;
    } else {
      failuresNotLogged++;
      return new Decision(pause, null);
    }
    failuresNotLogged = 0;
    return new Decision(pause, line);
  }

  /** A connection was accepted: the log line that ends a run of failures, if there was one. */
  String succeeded() {
    if (failuresInRun == 0) {
      return null;
    }
    String line = "accepting connections again after " + failuresInRun + " failed accepts";
    failuresInRun = 0;
    failuresNotLogged = 0;
    nextPause = FIRST_PAUSE;
    return line;
  }
}
