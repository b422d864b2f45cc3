package kueue.server;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import kueue.protocol.FrameReader;
import kueue.protocol.Handshakes;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ProtocolException;
import kueue.protocol.TransportSecurity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted connection on its own virtual thread: the server's side of the handshake, then a
 * client or worker session. Whatever the peer sends, the worst outcome is this connection closed
 * with a logged reason.
 */
final class Connection implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);

  /** The whole handshake must finish within this time, so a silent or trickling peer is dropped. */
  static final Duration HANDSHAKE_DEADLINE = Duration.ofSeconds(10);

  /** Handshake messages are small: a peer that has not authenticated gets little memory. */
  static final int HANDSHAKE_MAX_BYTES = 16 * 1024;

  private final Socket socket;
  private final ConnectionGuard.Admission admission;
  private final String peer;
  private final ServerContext context;
  private final ScheduledExecutorService timers;
  private volatile boolean authenticated;

  Connection(
      Socket socket,
      ConnectionGuard.Admission admission,
      ServerContext context,
      ScheduledExecutorService timers) {
    this.socket = socket;
    this.admission = admission;
    this.peer = socket.getRemoteSocketAddress().toString();
    this.context = context;
    this.timers = timers;
  }

  @Override
  public void run() {
    Outbound outbound = null;
    ConnectionGuard.Watched watched = null;
    // Covers the TLS handshake too, so a silent or trickling peer is dropped either way.
    ScheduledFuture<?> deadline =
        timers.schedule(this::closeQuietly, HANDSHAKE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    try {
      socket.setTcpNoDelay(true);
      TransportSecurity.Channel channel = secure();
      FrameReader reader = new FrameReader(channel.input(), HANDSHAKE_MAX_BYTES);
      watched = context.guard().watch(reader, socket, peer);
      outbound = new Outbound(channel.socket(), peer);
      String role = handshake(reader, outbound, channel.binding(), deadline);
      if (role == null) {
        return;
      }
      authenticated = true;
      reader.limit(MessageCodec.MAX_MESSAGE_BYTES);
      if (role.equals("client")) {
        watched.authenticatedAsClient();
      }
      if (role.equals("worker")) {
        outbound.writeFromPlatformThread();
        runOnPlatformThread(new WorkerSession(peer, reader, outbound, context));
      } else {
        new ClientSession(peer, reader, outbound, context, watched).run();
      }
    } catch (ProtocolException e) {
      closed(e.getMessage());
    } catch (SocketTimeoutException e) {
      closed("timed out");
    } catch (IOException e) {
      if (authenticated) {
        log.debug("closed {}: {}", peer, e.toString());
      } else {
        context.guard().closedUnauthenticated(peer, e.toString());
      }
    } catch (RuntimeException e) {
      log.error("closed {} after an internal error", peer, e);
    } finally {
      deadline.cancel(false);
      if (watched != null) {
        watched.close();
      }
      // The writer closes the socket once queued messages (e.g. a refusal) are out; the timer is a
      // backstop for a peer that stopped reading.
      if (outbound != null) {
        outbound.close();
      }
      try {
        timers.schedule(this::closeSocket, 5, TimeUnit.SECONDS);
      } catch (java.util.concurrent.RejectedExecutionException stopping) {
        // The server is stopping and closes every socket itself.
        closeSocket();
      }
    }
  }

  /**
   * Stack of a worker connection's reading and writing threads. Their code goes no deeper than
   * decoding a message (nesting is limited to 64 levels); with the JVM's default of 1 MiB, 1,000
   * connected workers added 440 MiB to the server's resident memory (bench/scale), with this 200.
   */
  static final long WORKER_THREAD_STACK_BYTES = 256 * 1024;

  /**
   * Reads a worker's reports on a platform thread of its own, while this virtual thread waits for
   * it. A virtual thread's read that has to wait takes a trip through the JDK's poller and wakes a
   * carrier thread; a worker's connection waits a few times per job (see {@link
   * Outbound#writeFromPlatformThread}).
   */
  private void runOnPlatformThread(WorkerSession session) throws IOException, ProtocolException {
    Throwable[] failure = new Throwable[1];
    Thread.Builder builder = Thread.ofPlatform().daemon().stackSize(WORKER_THREAD_STACK_BYTES);
    Thread reading =
        builder
            .name("read " + peer)
            .start(
                () -> {
                  try {
                    session.run();
                  } catch (Throwable e) {
                    failure[0] = e;
                  }
                });
    boolean interrupted = false;
    while (true) {
      try {
        reading.join();
        break;
      } catch (InterruptedException e) {
        // The reader ends once its socket is closed.
        interrupted = true;
        closeSocket();
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    switch (failure[0]) {
      case null -> {}
      case IOException e -> throw e;
      case ProtocolException e -> throw e;
      case RuntimeException e -> throw e;
      case Error e -> throw e;
      default -> throw new IllegalStateException(failure[0]);
    }
  }

  /**
   * Before authentication, anyone can make a connection fail; those closes go into the guard's
   * summary lines instead of one log line each.
   */
  private void closed(String reason) {
    if (authenticated) {
      log.info("closed {}: {}", peer, reason);
    } else {
      context.guard().closedUnauthenticated(peer, reason);
    }
  }

  private void closeSocket() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  /**
   * TLS unless the configuration says otherwise; a failed TLS handshake is logged with its cause.
   */
  private TransportSecurity.Channel secure() throws IOException, ProtocolException {
    try {
      return context.transport().accept(socket);
    } catch (javax.net.ssl.SSLException e) {
      // A peer with another shared_secret rejects the server's certificate with an alert.
      throw new ProtocolException("TLS handshake failed: " + e.getMessage(), e);
    }
  }

  /** Returns the authenticated role, or null after a refusal was sent. */
  private String handshake(
      FrameReader reader, Outbound outbound, String channelBinding, ScheduledFuture<?> deadline)
      throws IOException, ProtocolException {
    try {
      Message first = read(reader);
      if (!(first instanceof Message.Hello hello)) {
        throw new ProtocolException("expected hello, got " + typeOf(first));
      }
      if (hello.protocol() != Message.PROTOCOL_VERSION) {
        refuse(
            outbound,
            "version",
            "this server speaks protocol "
                + Message.PROTOCOL_VERSION
                + ", the peer "
                + hello.protocol()
                + ": install the same Kueue version everywhere");
        closed("protocol version " + hello.protocol());
        return null;
      }
      String role = hello.role();
      if (!"client".equals(role) && !"worker".equals(role)) {
        throw new ProtocolException("unknown role " + role);
      }
      if (!Handshakes.isWellFormedNonce(hello.nonce())) {
        throw new ProtocolException("malformed nonce");
      }
      String secret = context.secret();
      String serverNonce = Handshakes.newNonce();
      // Nothing derived from the secret before the peer has proved it: a stranger must not get
      // anything to test guesses against.
      outbound.send(new Message.Challenge(Message.PROTOCOL_VERSION, serverNonce));
      Message second = read(reader);
      if (!(second instanceof Message.Authenticate authenticate)) {
        throw new ProtocolException("expected authenticate, got " + typeOf(second));
      }
      String expected =
          Handshakes.peerProof(secret, role, hello.nonce(), serverNonce, channelBinding);
      if (!Handshakes.matches(expected, authenticate.proof())) {
        Duration delay = context.throttle().failed(socket.getInetAddress());
        context
            .guard()
            .failedAuthentication(
                peer,
                "wrong proof as "
                    + role
                    + " (another shared_secret, or a handshake replayed or relayed from another"
                    + " connection)");
        deadline.cancel(false);
        sleep(delay);
        refuse(
            outbound, "auth", "authentication failed: the shared_secret differs from the server's");
        return null;
      }
      context.throttle().succeeded(socket.getInetAddress());
      // Before the welcome: once the peer has it, the connection must no longer be displaced to
      // make room for unauthenticated ones, or a client could lose its first request.
      if (admission != null) {
        admission.authenticated();
      }
      outbound.send(
          new Message.Welcome(
              context.software(),
              Handshakes.serverProof(secret, role, hello.nonce(), serverNonce, channelBinding)));
      log.debug("authenticated {} as {}", peer, role);
      return role;
    } finally {
      deadline.cancel(false);
    }
  }

  private Message read(FrameReader reader) throws IOException, ProtocolException {
    byte[] line = reader.next();
    if (line == null) {
      throw new ProtocolException("closed during the handshake");
    }
    return MessageCodec.decode(line);
  }

  private void refuse(Outbound outbound, String code, String message) {
    outbound.send(new Message.Failure(code, message));
    outbound.close();
  }

  private void closeQuietly() {
    closed("handshake not finished within " + HANDSHAKE_DEADLINE.toSeconds() + "s");
    closeSocket();
  }

  private static void sleep(Duration delay) {
    try {
      Thread.sleep(delay);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String typeOf(Message message) {
    return message.getClass().getSimpleName();
  }
}
