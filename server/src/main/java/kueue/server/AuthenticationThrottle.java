package kueue.server;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Slows down guessing: each failed authentication from an address doubles the delay before that
 * address hears the answer, up to a cap; a success clears it. The delay is spent on the
 * connection's own virtual thread, so other peers are not held up.
 */
final class AuthenticationThrottle {
  private static final Duration FIRST_DELAY = Duration.ofMillis(200);
  private static final Duration MAX_DELAY = Duration.ofSeconds(10);

  /**
   * Forget addresses after this many entries: a flood of addresses must not grow the map forever.
   */
  private static final int MAX_TRACKED = 10_000;

  private final ConcurrentHashMap<InetAddress, Integer> failures = new ConcurrentHashMap<>();

  Duration failed(InetAddress address) {
    if (failures.size() > MAX_TRACKED) {
      failures.clear();
    }
    int count = failures.merge(address, 1, Integer::sum);
    long millis = FIRST_DELAY.toMillis() << Math.min(count - 1, 10);
    return Duration.ofMillis(Math.min(millis, MAX_DELAY.toMillis()));
  }

  void succeeded(InetAddress address) {
    failures.remove(address);
  }
}
