package kueue.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import kueue.protocol.FrameReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps hostile or broken peers from costing the server more than a bounded share: caps the number
 * of connections in total and per address, closes a connection whose message does not arrive
 * completely within a deadline once it has started (a peer trickling one byte per minute), and
 * closes clients that stay idle for a long time. The handshake has a deadline of its own (see
 * {@link Connection}); workers are watched by the scheduler's worker timeout instead of an idle
 * limit.
 */
final class ConnectionGuard {
  private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

  /**
   * @param maxConnections open connections at most, handshakes included (the fd limit is a few
   *     times higher: the database and the JVM need some too)
   * @param maxPerAddress open connections from one address at most
   * @param messageDeadline a message that has started must be complete within this time
   * @param clientIdleLimit an authenticated client that sends no request for this long is closed
   */
  record Limits(
      int maxConnections, int maxPerAddress, Duration messageDeadline, Duration clientIdleLimit) {
    static Limits standard() {
      return new Limits(10_000, 2_500, Duration.ofSeconds(60), Duration.ofMinutes(15));
    }
  }

  private final Limits limits;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, AtomicInteger> perAddress =
      new ConcurrentHashMap<>();
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
  private final AtomicLong refusedSinceLog = new AtomicLong();
  private volatile long lastRefusalLog;

  ConnectionGuard(Limits limits) {
    this.limits = limits;
  }

  Limits limits() {
    return limits;
  }

  /**
   * Counts a new connection in, or refuses it. Refusals are logged at most once a second, with how
   * many there were, so that a flood does not also flood the log.
   *
   * @return true when admitted; then {@link #release} must follow when it closes
   */
  boolean admit(InetAddress address) {
    String refusal = null;
    if (open.incrementAndGet() > limits.maxConnections()) {
      refusal = "the server has " + limits.maxConnections() + " connections open";
    }
    AtomicInteger fromAddress = perAddress.computeIfAbsent(address, a -> new AtomicInteger());
    if (fromAddress.incrementAndGet() > limits.maxPerAddress() && refusal == null) {
      refusal = address.getHostAddress() + " has " + limits.maxPerAddress() + " connections open";
    }
    if (refusal == null) {
      return true;
    }
    release(address);
    long refused = refusedSinceLog.incrementAndGet();
    long now = System.nanoTime();
    if (now - lastRefusalLog > 1_000_000_000L) {
      lastRefusalLog = now;
      refusedSinceLog.addAndGet(-refused);
      log.warn(
          "refused {} connection(s), the last from {}: {}",
          refused,
          address.getHostAddress(),
          refusal);
    }
    return false;
  }

  void release(InetAddress address) {
    open.decrementAndGet();
    perAddress.computeIfPresent(address, (a, count) -> count.decrementAndGet() <= 0 ? null : count);
  }

  int openConnections() {
    return open.get();
  }

  /** Watches the reading side of one connection until {@link Watched#close()}. */
  Watched watch(FrameReader reader, Socket socket, String peer) {
    Watched entry = new Watched(reader, socket, peer);
    watched.add(entry);
    return entry;
  }

  /** Closes every connection that overran a deadline; run every second or so. */
  void check() {
    long now = System.nanoTime();
    for (Watched entry : watched) {
      String reason = entry.overdue(now);
      if (reason != null) {
        log.info("closed {}: {}", entry.peer, reason);
        entry.closeSocket();
        watched.remove(entry);
      }
    }
  }

  /** One connection's reader; the client flag enables the idle limit. */
  final class Watched implements AutoCloseable {
    private final FrameReader reader;
    private final Socket socket;
    private final String peer;
    private volatile boolean client;
    private volatile boolean busy;
    private volatile long busyEnded = -1;

    private Watched(FrameReader reader, Socket socket, String peer) {
      this.reader = reader;
      this.socket = socket;
      this.peer = peer;
    }

    /** From now on it is an authenticated client, which must not idle forever. */
    void authenticatedAsClient() {
      client = true;
    }

    /** While busy, the client waits for an answer (maybe for days): it is not idle. */
    void busy(boolean busy) {
      this.busy = busy;
      if (!busy) {
        busyEnded = System.nanoTime();
      }
    }

    private String overdue(long now) {
      long started = reader.partialMessageSince();
      if (started >= 0 && now - started > limits.messageDeadline().toNanos()) {
        return "a message was not completed within " + limits.messageDeadline().toSeconds() + "s";
      }
      long waiting = reader.waitingSince();
      long idleSince = Math.max(waiting, busyEnded);
      if (client
          && !busy
          && started < 0
          && waiting >= 0
          && now - idleSince > limits.clientIdleLimit().toNanos()) {
        return "idle for " + limits.clientIdleLimit().toSeconds() + "s";
      }
      return null;
    }

    private void closeSocket() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closed already
      }
    }

    @Override
    public void close() {
      watched.remove(this);
    }
  }
}
