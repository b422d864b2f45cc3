package kueue.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import kueue.protocol.PeerConnection;

/**
 * Authenticated connections to servers kept open between commands, for a process that runs many
 * commands (the CLI daemon): connecting and proving the secret over TLS costs more than most
 * requests. A connection is reused only by commands with the same server, secret, encryption and
 * pinned key file, only after it answered its last request completely, and only while nothing
 * arrived on it meanwhile ({@link PeerConnection#stillOpenWhileIdle}).
 */
public final class ServerConnections {
  /** Idle connections kept per server; more concurrent commands than this open their own. */
  private static final int MAX_IDLE_PER_SERVER = 4;

  private static volatile ServerConnections shared;

  private final Duration maxIdle;
  private final Map<Key, ArrayDeque<Idle>> idle = new HashMap<>();

  record Key(String host, int port, String secret, boolean encrypted, Path serverKeyFile) {}

  private record Idle(PeerConnection connection, long sinceNanos) {}

  private ServerConnections(Duration maxIdle) {
    this.maxIdle = maxIdle;
  }

  /**
   * From now on, this process keeps connections open between commands.
   *
   * @param maxIdle how long an unused connection stays open
   */
  public static ServerConnections keepOpen(Duration maxIdle) {
    shared = new ServerConnections(maxIdle);
    return shared;
  }

  /** The pool of this process, or null when each command opens and closes its own connection. */
  static ServerConnections shared() {
    return shared;
  }

  /** An idle connection that is still open, or null. */
  PeerConnection take(Key key, long nowNanos) {
    while (true) {
      Idle candidate;
      synchronized (this) {
        ArrayDeque<Idle> connections = idle.get(key);
        candidate = connections == null ? null : connections.pollLast();
      }
      if (candidate == null) {
        return null;
      }
      if (nowNanos - candidate.sinceNanos() < maxIdle.toNanos()
          && candidate.connection().stillOpenWhileIdle()) {
        return candidate.connection();
      }
      candidate.connection().close();
    }
  }

  /** Keeps a connection whose last request was answered completely. */
  void giveBack(Key key, PeerConnection connection, long nowNanos) {
    synchronized (this) {
      ArrayDeque<Idle> connections = idle.computeIfAbsent(key, unused -> new ArrayDeque<>());
      if (connections.size() < MAX_IDLE_PER_SERVER) {
        connections.addLast(new Idle(connection, nowNanos));
        return;
      }
    }
    connection.close();
  }

  /** Closes connections idle for longer than allowed; the server need not keep them. */
  public void closeExpired(long nowNanos) {
    java.util.List<PeerConnection> expired = new java.util.ArrayList<>();
    synchronized (this) {
      for (ArrayDeque<Idle> connections : idle.values()) {
        for (Iterator<Idle> it = connections.iterator(); it.hasNext(); ) {
          Idle candidate = it.next();
          if (nowNanos - candidate.sinceNanos() >= maxIdle.toNanos()) {
            expired.add(candidate.connection());
            it.remove();
          }
        }
      }
    }
    expired.forEach(PeerConnection::close);
  }
}
