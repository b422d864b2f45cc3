package kueue.worker;

import java.time.Duration;

/**
 * The worker's side of {@code worker_timeout_seconds}: the server presumes a worker lost (and runs
 * its jobs again elsewhere) after that long without hearing from it, so a worker that cannot hear
 * the server must have killed its jobs before then. Everything here is a fraction of the timeout:
 *
 * <ul>
 *   <li>heartbeats at least every eighth of it, so the server hears the worker well within it;
 *   <li>a connection on which nothing arrived for a quarter of it is presumed dead and replaced;
 *   <li>jobs are killed after half of it without contact, with a kill grace of at most a quarter.
 * </ul>
 *
 * Worst case, cut off at time T: the worker's last message reached the server at T minus one
 * heartbeat period at the earliest, so the server requeues at T + 7/8 of the timeout or later,
 * while the worker's jobs are dead by T + 3/4 of it (plus one check period).
 */
record ContactLimits(Duration workerTimeout) {
  private static final Duration CHECK_PERIOD_MAX = Duration.ofMillis(250);
  private static final Duration BACKOFF_CAP = Duration.ofSeconds(30);

  ContactLimits {
    if (workerTimeout.isNegative() || workerTimeout.isZero()) {
      throw new IllegalArgumentException("worker timeout must be positive: " + workerTimeout);
    }
  }

  /** Without contact for this long, the worker kills its jobs: the server may be requeuing them. */
  Duration killJobsAfter() {
    return workerTimeout.dividedBy(2);
  }

  /** A connection on which nothing arrived for this long is closed and opened again. */
  Duration reconnectAfter() {
    return workerTimeout.dividedBy(4);
  }

  /** How often the worker sends a heartbeat (each answered by the server). */
  Duration heartbeatPeriod(Duration configured) {
    return min(configured, workerTimeout.dividedBy(8));
  }

  /** TERM to KILL for jobs of this worker, so they are gone before the server requeues them. */
  Duration killGrace(Duration preferred) {
    return min(preferred, workerTimeout.dividedBy(4));
  }

  /**
   * Longest pause between attempts to reach the server, so a restarted server sees us in time. A
   * refused connection renews the contact only when it happens, so attempts come at least four
   * times per {@link #killJobsAfter()}, leaving room for a busy machine's scheduling delays.
   */
  Duration maxBackoff() {
    return min(BACKOFF_CAP, workerTimeout.dividedBy(8));
  }

  /** How often the worker checks how long it has been without contact. */
  Duration checkPeriod() {
    return min(CHECK_PERIOD_MAX, workerTimeout.dividedBy(16));
  }

  private static Duration min(Duration a, Duration b) {
    Duration shorter = a.compareTo(b) <= 0 ? a : b;
    return shorter.toMillis() < 1 ? Duration.ofMillis(1) : shorter;
  }
}
