package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import kueue.config.KueueConfig;
import kueue.protocol.FrameReader;
import kueue.protocol.Handshakes;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ServerIdentity;
import kueue.protocol.ServerKeyPin;
import kueue.protocol.TransportSecurity;

/**
 * The server's side of the protocol, driven by the test: accepts connections on 127.0.0.1, performs
 * the handshake with its own secret, and hands each authenticated connection to the test as a
 * {@link Peer} whose received messages can be awaited one by one.
 */
final class ScriptedServer implements AutoCloseable {
  private final String secret;
  private final TransportSecurity transport;
  private final ServerSocket listener;
  private final BlockingQueue<Peer> peers = new LinkedBlockingQueue<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final List<Socket> sockets = new ArrayList<>();
  private final List<Message> afterChallenge = new ArrayList<>();
  private volatile CountDownLatch handshakeGate = new CountDownLatch(0);
  private final BlockingQueue<Message> handshakeMessages = new LinkedBlockingQueue<>();

  /** The key workers pinned for this server; it holds it unless given another transport. */
  private final ServerIdentity pinnedIdentity = ServerIdentity.generate();

  private Path pinFile;

  ScriptedServer(String secret) throws IOException {
    this.secret = secret;
    this.transport = TransportSecurity.server(pinnedIdentity);
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().name("scripted-server").start(this::acceptLoop);
  }

  /** With a transport of its own, e.g. an impostor's TLS key or plain TCP. */
  ScriptedServer(String secret, TransportSecurity transport) throws IOException {
    this(secret, transport, 0);
  }

  /** On a given port, e.g. the one a server just left; 0 for any free one. */
  ScriptedServer(String secret, TransportSecurity transport, int port) throws IOException {
    this.secret = secret;
    this.transport = transport;
    this.listener = new ServerSocket();
    listener.setReuseAddress(true);
    bindRetrying(port);
    Thread.ofPlatform().daemon().name("scripted-server").start(this::acceptLoop);
  }

  /**
   * A port another listener just left can be taken for a moment by an outgoing connection that the
   * kernel gave it as its local port (the worker's own reconnects can even connect to themselves),
   * and a connection of that kind that ended waits out TIME_WAIT (60 s on Linux), so binding it
   * again is retried for a little longer than that.
   */
  private void bindRetrying(int port) throws IOException {
    var address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(70);
    while (true) {
      try {
        listener.bind(address, 50);
        return;
      } catch (BindException e) {
        if (port == 0 || System.nanoTime() > deadline) {
          throw e;
        }
        LockSupport.parkNanos(20_000_000);
      }
    }
  }

  int port() {
    return listener.getLocalPort();
  }

  /** The key this server holds, unless it was given another transport. */
  ServerIdentity pinnedIdentity() {
    return pinnedIdentity;
  }

  /** A pin file naming {@link #pinnedIdentity()}, as the real server writes it. */
  synchronized Path pinFile() throws IOException {
    if (pinFile == null) {
      Path directory = Files.createTempDirectory("kueue-pin");
      directory.toFile().deleteOnExit();
      pinFile = directory.resolve("server-key.pub");
      ServerKeyPin.publish(pinFile, pinnedIdentity, "test");
      pinFile.toFile().deleteOnExit();
    }
    return pinFile;
  }

  /** A worker's [common] section for this server. */
  KueueConfig.Common common(String workerSecret) throws IOException {
    return new KueueConfig.Common(workerSecret, "127.0.0.1", port(), "info", pinFile());
  }

  /** How many TCP connections were accepted so far. */
  int connections() {
    return connections.get();
  }

  /** Every message a peer sent during the handshake, in order, over all connections. */
  List<Message> handshakeMessages() {
    return List.copyOf(handshakeMessages);
  }

  /** Messages pushed right after the Challenge, before the peer has authenticated. */
  void sendAfterChallenge(Message message) {
    synchronized (afterChallenge) {
      afterChallenge.add(message);
    }
  }

  /** New connections wait before their handshake until {@link #openHandshakes()}. */
  void holdHandshakes() {
    handshakeGate = new CountDownLatch(1);
  }

  void openHandshakes() {
    handshakeGate.countDown();
  }

  Peer awaitPeer() throws InterruptedException {
    Peer peer = peers.poll(20, TimeUnit.SECONDS);
    assertThat(peer).as("a worker connected and authenticated").isNotNull();
    return peer;
  }

  @Override
  public void close() throws IOException {
    listener.close();
    synchronized (sockets) {
      for (Socket socket : sockets) {
        socket.close();
      }
    }
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket socket = listener.accept();
        connections.incrementAndGet();
        synchronized (sockets) {
          sockets.add(socket);
        }
        Thread.ofPlatform().daemon().name("scripted-connection").start(() -> handshake(socket));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void handshake(Socket socket) {
    try {
      handshakeGate.await();
      TransportSecurity.Channel channel = transport.accept(socket);
      FrameReader reader = new FrameReader(channel.input());
      OutputStream out = channel.output();
      Message first = MessageCodec.decode(reader.next());
      handshakeMessages.add(first);
      Message.Hello hello = (Message.Hello) first;
      String nonce = Handshakes.newNonce();
      String binding = channel.binding();
      out.write(MessageCodec.encode(new Message.Challenge(Message.PROTOCOL_VERSION, nonce)));
      synchronized (afterChallenge) {
        for (Message message : afterChallenge) {
          out.write(MessageCodec.encode(message));
        }
      }
      out.flush();
      byte[] line = reader.next();
      if (line == null) {
        socket.close();
        return;
      }
      Message second = MessageCodec.decode(line);
      handshakeMessages.add(second);
      Message.Authenticate authenticate = (Message.Authenticate) second;
      String expected = Handshakes.peerProof(secret, hello.role(), hello.nonce(), nonce, binding);
      if (!Handshakes.matches(expected, authenticate.proof())) {
        out.write(MessageCodec.encode(new Message.Failure("auth", "authentication failed")));
        out.flush();
        channel.socket().close();
        return;
      }
      out.write(
          MessageCodec.encode(
              new Message.Welcome(
                  "scripted server",
                  Handshakes.serverProof(secret, hello.role(), hello.nonce(), nonce, binding))));
      out.flush();
      peers.add(new Peer(channel.socket(), reader));
    } catch (Exception e) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // the test sees the closed connection
      }
    }
  }

  /** One authenticated worker connection. */
  static final class Peer {
    private final Socket socket;
    private final BlockingQueue<Message> received = new LinkedBlockingQueue<>();
    private final CountDownLatch closed = new CountDownLatch(1);

    Peer(Socket socket, FrameReader reader) {
      this.socket = socket;
      Thread.ofPlatform()
          .daemon()
          .name("scripted-peer")
          .start(
              () -> {
                try {
                  byte[] line;
                  while ((line = reader.next()) != null) {
                    received.add(MessageCodec.decode(line));
                  }
                } catch (Exception e) {
                  // the worker closed or broke the connection: both end the stream
                } finally {
                  closed.countDown();
                }
              });
    }

    void send(Message message) throws IOException {
      synchronized (this) {
        socket.getOutputStream().write(MessageCodec.encode(message));
        socket.getOutputStream().flush();
      }
    }

    /** The next message of this type; heartbeats in between are skipped unless asked for. */
    <T extends Message> T expect(Class<T> type) throws InterruptedException {
      return expect(type, message -> false);
    }

    /** Like {@link #expect(Class)}, also passing over messages that may come first. */
    <T extends Message> T expect(Class<T> type, java.util.function.Predicate<Message> mayComeFirst)
        throws InterruptedException {
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (true) {
        Message message = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        assertThat(message).as("a %s from the worker", type.getSimpleName()).isNotNull();
        if (type.isInstance(message)) {
          return type.cast(message);
        }
        if (mayComeFirst.test(message)) {
          continue;
        }
        assertThat(message)
            .as("the worker sent %s while %s was expected", message, type.getSimpleName())
            .isInstanceOf(Message.Heartbeat.class);
      }
    }

    /** Everything received so far that is not a heartbeat. */
    List<Message> receivedExceptHeartbeats() {
      return received.stream().filter(m -> !(m instanceof Message.Heartbeat)).toList();
    }

    boolean awaitClosedByWorker(Duration timeout) throws InterruptedException {
      return closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    void close() throws IOException {
      socket.close();
    }
  }
}
