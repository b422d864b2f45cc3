package kueue.worker;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Delays between reconnect attempts: doubling from {@code initial} up to {@code cap}, each drawn at
 * random from the upper half of the current step. The jitter keeps a fleet of workers from
 * reconnecting in lockstep after a server restart; keeping the lower half out means a worker that
 * keeps failing (e.g. with a wrong secret) never retries in a tight loop.
 */
public final class Backoff {
  private final long initialMillis;
  private final long capMillis;
  private final RandomGenerator random;
  private long stepMillis;

  public Backoff(Duration initial, Duration cap) {
    this(initial, cap, RandomGenerator.getDefault());
  }

  Backoff(Duration initial, Duration cap, RandomGenerator random) {
    if (initial.isNegative() || initial.isZero() || cap.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "backoff needs 0 < initial <= cap: " + initial + ", " + cap);
    }
    this.initialMillis = initial.toMillis();
    this.capMillis = cap.toMillis();
    this.random = random;
    this.stepMillis = initialMillis;
  }

  public static Backoff standard() {
    return new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30));
  }

  /** The next delay; each call doubles the step until the cap. */
  public synchronized Duration next() {
    long step = stepMillis;
    stepMillis = Math.min(capMillis, stepMillis * 2);
    long half = step / 2;
    return Duration.ofMillis(step - half + random.nextLong(half + 1));
  }

  /** Back to the initial step, after a connection that worked. */
  public synchronized void reset() {
    stepMillis = initialMillis;
  }
}
