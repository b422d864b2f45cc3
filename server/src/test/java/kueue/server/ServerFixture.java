package kueue.server;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.protocol.Handshakes;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.ProtocolException;
import kueue.protocol.TransportSecurity;
import org.slf4j.LoggerFactory;

/**
 * A real server in this JVM on 127.0.0.1 with its own data directory, plus the ways a test talks to
 * it: an ordinary client, and raw connections that send whatever the test wants. Captures what the
 * server logs.
 */
final class ServerFixture implements AutoCloseable {
  static final String SECRET = "NabQbGZvPFA01fI4m7HV_pL6IJ4PLjLGs-BRk3Ly2Uk";
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  final KueueServer server;
  final int port;
  final String encryption;
  final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final KueueConfig config;
  private final ConnectionGuard.Limits limits;

  private ServerFixture(KueueConfig config, ConnectionGuard.Limits limits, String encryption)
      throws IOException {
    this.config = config;
    this.limits = limits;
    this.server = KueueServer.start(config, Clock.systemUTC(), () -> {}, limits);
    this.port = server.addresses().getFirst().getPort();
    this.encryption = encryption;
    logs.start();
    root().addAppender(logs);
  }

  /**
   * @param encryption "tls" or "none"
   * @param serverSettings extra lines for the [server] section
   */
  static ServerFixture start(
      Path home, String encryption, String serverSettings, ConnectionGuard.Limits limits)
      throws Exception {
    Path directory = Files.createTempDirectory(home, "server");
    Path file = directory.resolve("config.toml");
    Files.writeString(
        file,
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        encryption = "%s"
        [server]
        address_bindings = "127.0.0.1"
        data_directory = "%s"
        %s
        [worker]
        captured_output_max_bytes = 1000
        """
            .formatted(SECRET, freePort(), encryption, directory.resolve("data"), serverSettings));
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    KueueConfig config = ConfigLoader.load(file, warning -> {}, Map.of("HOME", home.toString()));
    return new ServerFixture(config, limits, encryption);
  }

  /** Stops this server and starts another on the same configuration and database. */
  ServerFixture restart() throws IOException {
    close();
    return new ServerFixture(config, limits, encryption);
  }

  static ConnectionGuard.Limits standardLimits() {
    return ConnectionGuard.Limits.standard();
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  TransportSecurity transport() {
    return TransportSecurity.forClient(encryption.equals("tls"), config.common().serverKeyFile());
  }

  /** An ordinary, well-behaved client. */
  PeerConnection client() throws IOException, ProtocolException {
    return PeerConnection.open("127.0.0.1", port, SECRET, "client", "test", TIMEOUT, transport());
  }

  /** A connection that has not said anything yet, from the given local address. */
  RawPeer raw(String localAddress) throws IOException, ProtocolException {
    Socket socket = new Socket();
    socket.bind(new InetSocketAddress(localAddress, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
    socket.setSoTimeout((int) TIMEOUT.toMillis());
    return new RawPeer(transport().connect(socket, "127.0.0.1", port));
  }

  RawPeer raw() throws IOException, ProtocolException {
    return raw("127.0.0.1");
  }

  /** A raw connection that has passed the handshake as role; what follows is up to the test. */
  RawPeer authenticated(String role) throws IOException, ProtocolException {
    return authenticated(raw(), role);
  }

  static RawPeer authenticated(RawPeer peer, String role) throws IOException, ProtocolException {
    String nonce = Handshakes.newNonce();
    peer.send(new Message.Hello(Message.PROTOCOL_VERSION, role, nonce, "test"));
    Message.Challenge challenge = (Message.Challenge) peer.receive();
    peer.send(
        new Message.Authenticate(
            Handshakes.peerProof(SECRET, role, nonce, challenge.nonce(), peer.channel.binding())));
    if (!(peer.receive() instanceof Message.Welcome)) {
      throw new ProtocolException("not welcomed");
    }
    return peer;
  }

  /** A worker connection that has registered with the given running attempts and results. */
  RawPeer registeredWorker(
      String name, List<kueue.model.AttemptRef> running, List<Message.Ended> ended)
      throws IOException, ProtocolException {
    RawPeer worker = authenticated("worker");
    worker.send(new Message.Register(name, system(name), capacity(), running, ended));
    Message reply = worker.receive();
    if (!(reply instanceof Message.Registered)) {
      throw new ProtocolException("expected registered, got " + reply);
    }
    return worker;
  }

  /** Heartbeats from this worker every 250 ms until its connection closes. */
  static RawPeer keepAlive(RawPeer worker, String name) {
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (!worker.channel.socket().isClosed()) {
                  worker.send(new Message.Heartbeat(system(name), capacity()));
                  Thread.sleep(250);
                }
              } catch (Exception e) {
                // closed: nothing left to keep alive
              }
            });
    return worker;
  }

  static SystemInfo system(String name) {
    return new SystemInfo(name, "Linux", "6.1", 4, 2000, 8000, 8000, 0, 0, 0, 100);
  }

  static WorkerCapacity capacity() {
    return new WorkerCapacity(new kueue.model.Resources(4, 4, 8000), 0, 8000);
  }

  /** Log lines of level INFO or above so far, formatted. */
  List<String> logLines() {
    return logs.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  List<ILoggingEvent> errors() {
    return logs.list.stream()
        .filter(event -> event.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR))
        .toList();
  }

  @Override
  public void close() {
    server.close();
    root().detachAppender(logs);
  }
}
