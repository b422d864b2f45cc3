package kueue.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kueue.protocol.FrameReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps hostile or broken peers from costing the server more than a bounded share, and keeps peers
 * without the secret from crowding out those with it.
 *
 * <ul>
 *   <li>Connections are capped in total (derived from the process's descriptor limit) and per
 *       address. A connection that has not authenticated yet holds its place only until room is
 *       needed: when a cap is reached, a new connection takes the place of a randomly chosen
 *       unauthenticated one (from the same address or network when that is what is full). A flood
 *       of idle connections then only ever displaces itself, while a real handshake, which takes
 *       milliseconds, almost always completes; authenticated connections are never displaced.
 *   <li>Unauthenticated connections from one network (a /24 for IPv4, a /64 for IPv6, where one
 *       user can hold many addresses) share one quota, so one network cannot hold every place.
 *   <li>A connection whose message does not arrive completely within a deadline once it has started
 *       (a peer trickling one byte per minute) is closed, and so is a client that stays idle for a
 *       long time. The handshake has a deadline of its own (see {@link Connection}); workers are
 *       watched by the scheduler's worker timeout instead of an idle limit.
 *   <li>What happens to unauthenticated connections is logged line by line only for the first few
 *       of every few seconds, then counted into one line, so that a flood does not also flood the
 *       log.
 * </ul>
 */
final class ConnectionGuard {
  private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

  /** Events of unauthenticated peers beyond the first few per interval share one log line. */
  static final Duration SUMMARY_INTERVAL = Duration.ofSeconds(10);

  static final int LOGGED_PER_INTERVAL = 20;

  /**
   * @param maxConnections open connections at most, handshakes included
   * @param maxPerAddress open connections from one address at most
   * @param messageDeadline a message that has started must be complete within this time
   * @param clientIdleLimit an authenticated client that sends no request for this long is closed
   * @param maxUnauthenticatedPerNetwork connections from one /24 (IPv4) or /64 (IPv6) that have not
   *     authenticated yet, at most
   */
  record Limits(
      int maxConnections,
      int maxPerAddress,
      Duration messageDeadline,
      Duration clientIdleLimit,
      int maxUnauthenticatedPerNetwork) {

    Limits(
        int maxConnections, int maxPerAddress, Duration messageDeadline, Duration clientIdleLimit) {
      this(maxConnections, maxPerAddress, messageDeadline, clientIdleLimit, maxConnections);
    }

    /** The most connections ever, whatever the descriptor limit. */
    static final int MOST_CONNECTIONS = 10_000;

    static Limits standard() {
      return forDescriptors(DescriptorLimit.soft(), DescriptorLimit.inUse());
    }

    /**
     * Every connection costs one descriptor; the database, the logs, the JVM's jars and the
     * workers' threads need some too, and a server that runs out accepts nothing at all. So the
     * connections get three quarters of what is free at start (the rest is kept for everything
     * else), and never more than {@link #MOST_CONNECTIONS}.
     *
     * @param descriptorLimit the process's soft limit on open files, or -1 when unknown
     * @param descriptorsInUse open now, or -1 when unknown
     */
    static Limits forDescriptors(long descriptorLimit, long descriptorsInUse) {
      int total = MOST_CONNECTIONS;
      if (descriptorLimit > 0) {
        long free = descriptorLimit - Math.max(descriptorsInUse, 0);
        total = Math.clamp(free * 3 / 4, 16, MOST_CONNECTIONS);
      }
      // A lab's machines, and so its legitimate clients and workers, often share one /24: a
      // network's share is what is left after another network holds the rest.
      return new Limits(
          total,
          Math.max(1, total / 4),
          Duration.ofSeconds(60),
          Duration.ofMinutes(15),
          Math.max(1, total / 2));
    }
  }

  private final Limits limits;
  private final Random random = new Random();
  // Guarded by this: admissions are rare next to messages, and each takes microseconds.
  private int open;
  private final Map<InetAddress, Integer> perAddress = new HashMap<>();
  private final RandomSet<Admission> unauthenticated = new RandomSet<>();
  private final Map<InetAddress, RandomSet<Admission>> unauthenticatedByAddress = new HashMap<>();
  private final Map<Network, RandomSet<Admission>> unauthenticatedByNetwork = new HashMap<>();
  private final Set<Watched> watched = ConcurrentHashMap.newKeySet();
  private final Summary refused =
      new Summary(
          "refused 1 connection from {}: {}",
          "refused {} more connection(s), the last from {}: {}");
  private final Summary displaced =
      new Summary(
          "closed an unauthenticated connection from {} to make room for a new one: {}",
          "closed {} more unauthenticated connection(s) to make room for new ones, the last from"
              + " {}: {}");
  private final Summary unauthenticatedClosed =
      new Summary(
          "closed {}: {}",
          "closed {} more connection(s) before they authenticated, the last from {}: {}");
  private final Summary failedAuthentications =
      new Summary(
          "authentication failed for {}: {}",
          "authentication failed for {} more connection(s), the last from {}: {}");

  ConnectionGuard(Limits limits) {
    this.limits = limits;
  }

  Limits limits() {
    return limits;
  }

  /**
   * Counts a new connection in, possibly closing an unauthenticated one to make room, or refuses it
   * when every place that could be freed is held by authenticated peers.
   *
   * @return the admission, which the connection reports as authenticated once it is and releases
   *     when it closes; null when refused (the caller closes the socket)
   */
  synchronized Admission admit(Socket socket) {
    InetAddress address = socket.getInetAddress();
    Network network = Network.of(address);
    RandomSet<Admission> ofNetwork = unauthenticatedByNetwork.get(network);
    if (ofNetwork != null && ofNetwork.size() >= limits.maxUnauthenticatedPerNetwork()) {
      displace(ofNetwork.pick(random), "its network has reached its share of places");
    }
    if (perAddress.getOrDefault(address, 0) >= limits.maxPerAddress()) {
      RandomSet<Admission> ofAddress = unauthenticatedByAddress.get(address);
      if (ofAddress == null || ofAddress.size() == 0) {
        refused.note(
            address.getHostAddress(),
            address.getHostAddress() + " has " + limits.maxPerAddress() + " connections open");
        return null;
      }
      displace(ofAddress.pick(random), "its address has reached its share of places");
    }
    if (open >= limits.maxConnections()) {
      if (unauthenticated.size() == 0) {
        refused.note(
            address.getHostAddress(),
            "the server has " + limits.maxConnections() + " connections open");
        return null;
      }
      displace(unauthenticated.pick(random), "the server is full");
    }
    Admission admission = new Admission(socket, address, network);
    open++;
    perAddress.merge(address, 1, Integer::sum);
    unauthenticated.add(admission);
    unauthenticatedByAddress.computeIfAbsent(address, a -> new RandomSet<>()).add(admission);
    unauthenticatedByNetwork.computeIfAbsent(network, n -> new RandomSet<>()).add(admission);
    return admission;
  }

  private void displace(Admission victim, String reason) {
    // Its place is free at once; the release when its connection ends is then a no-op.
    release(victim);
    displaced.note(victim.address.getHostAddress(), reason);
    try {
      victim.socket.close();
    } catch (IOException ignored) {
      // closed already
    }
  }

  private synchronized void authenticated(Admission admission) {
    forgetUnauthenticated(admission);
  }

  private void forgetUnauthenticated(Admission admission) {
    if (!unauthenticated.remove(admission)) {
      return;
    }
    removeFrom(unauthenticatedByAddress, admission.address, admission);
    removeFrom(unauthenticatedByNetwork, admission.network, admission);
  }

  private static <K> void removeFrom(
      Map<K, RandomSet<Admission>> groups, K key, Admission admission) {
    RandomSet<Admission> group = groups.get(key);
    if (group != null && group.remove(admission) && group.size() == 0) {
      groups.remove(key);
    }
  }

  /** Once per admission, when its connection has closed (or was displaced). */
  synchronized void release(Admission admission) {
    if (admission.released) {
      return;
    }
    admission.released = true;
    forgetUnauthenticated(admission);
    open--;
    perAddress.computeIfPresent(admission.address, (a, count) -> count <= 1 ? null : count - 1);
  }

  /** A connection closed before authenticating; logged in a summary line. */
  void closedUnauthenticated(String peer, String reason) {
    unauthenticatedClosed.note(peer, reason);
  }

  /** A peer gave a wrong proof; logged in a summary line. */
  void failedAuthentication(String peer, String reason) {
    failedAuthentications.note(peer, reason);
  }

  synchronized int unauthenticatedConnections() {
    return unauthenticated.size();
  }

  synchronized int openConnections() {
    return open;
  }

  /** Watches the reading side of one connection until {@link Watched#close()}. */
  Watched watch(FrameReader reader, Socket socket, String peer) {
    Watched entry = new Watched(reader, socket, peer);
    watched.add(entry);
    return entry;
  }

  /**
   * Closes every connection that overran a deadline and writes the summary lines that are due; run
   * every second or so.
   */
  void check() {
    long now = System.nanoTime();
    for (Summary summary :
        List.of(refused, displaced, unauthenticatedClosed, failedAuthentications)) {
      summary.flushIfDue(now);
    }
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

  /** One admitted connection: its place in the counts until {@link #release}. */
  final class Admission {
    private final Socket socket;
    private final InetAddress address;
    private final Network network;
    private boolean released;

    private Admission(Socket socket, InetAddress address, Network network) {
      this.socket = socket;
      this.address = address;
      this.network = network;
    }

    /** From now on the connection holds its place; nothing displaces it. */
    void authenticated() {
      ConnectionGuard.this.authenticated(this);
    }
  }

  /**
   * The block of addresses one user typically holds: a /24 of IPv4 (also written as IPv4-mapped
   * IPv6), a /64 of IPv6.
   */
  record Network(String prefix) {
    static Network of(InetAddress address) {
      byte[] bytes = address.getAddress();
      if (bytes.length == 16 && isIpv4Mapped(bytes)) {
        bytes = Arrays.copyOfRange(bytes, 12, 16);
      }
      int prefixBytes = bytes.length == 4 ? 3 : 8;
      return new Network(HexFormat.of().formatHex(bytes, 0, prefixBytes) + "/" + (prefixBytes * 8));
    }

    private static boolean isIpv4Mapped(byte[] bytes) {
      for (int i = 0; i < 10; i++) {
        if (bytes[i] != 0) {
          return false;
        }
      }
      return bytes[10] == (byte) 0xff && bytes[11] == (byte) 0xff;
    }
  }

  /**
   * Like events from peers nobody has vouched for: the first {@link #LOGGED_PER_INTERVAL} of each
   * {@link #SUMMARY_INTERVAL} get a line each, the rest one line with how many there were.
   */
  private static final class Summary {
    private final String single;
    private final String many;
    private long inInterval;
    private long unlogged;
    private String lastPeer;
    private String lastReason;
    private long intervalStart = System.nanoTime();

    /**
     * @param single the line of one event, with the peer and the reason
     * @param many the line of several, with their count, the last peer and its reason
     */
    Summary(String single, String many) {
      this.single = single;
      this.many = many;
    }

    synchronized void note(String peer, String reason) {
      long now = System.nanoTime();
      flushIfDue(now);
      if (++inInterval <= LOGGED_PER_INTERVAL) {
        log.warn(single, peer, reason);
        return;
      }
      unlogged++;
      lastPeer = peer;
      lastReason = reason;
    }

    synchronized void flushIfDue(long now) {
      if (now - intervalStart < SUMMARY_INTERVAL.toNanos()) {
        return;
      }
      if (unlogged > 0) {
        log.warn(many, unlogged, lastPeer, lastReason);
      }
      unlogged = 0;
      inInterval = 0;
      intervalStart = now;
    }
  }

  /** A set that can hand out a random member in constant time. */
  static final class RandomSet<E> {
    private final List<E> members = new ArrayList<>();
    private final Map<E, Integer> positions = new HashMap<>();

    void add(E member) {
      if (positions.putIfAbsent(member, members.size()) == null) {
        members.add(member);
      }
    }

    boolean remove(E member) {
      Integer position = positions.remove(member);
      if (position == null) {
        return false;
      }
      E last = members.removeLast();
      if (position < members.size()) {
        members.set(position, last);
        positions.put(last, position);
      }
      return true;
    }

    E pick(Random random) {
      return members.get(random.nextInt(members.size()));
    }

    int size() {
      return members.size();
    }
  }
}
