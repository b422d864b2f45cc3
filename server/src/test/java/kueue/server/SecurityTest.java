package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.EncryptionMismatchException;
import kueue.protocol.Handshakes;
import kueue.protocol.LoopbackRelay;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.TransportSecurity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The promises of docs/SECURITY.md against a real server on 127.0.0.1: who gets in, what a sniffer,
 * a replayer or a relay can do, and what the server logs about it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class SecurityTest {
  private static final String SECRET = "87oFg7tasakat94VNplGQ9E3P5V7QmhZc5-64ELh6Dc";
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  @TempDir static Path home;
  private KueueServer server;
  private int port;

  /** The pin file the server under test wrote: what its clients trust. */
  private Path pin;

  private Path lastDirectory;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final List<KueueServer> extraServers = new ArrayList<>();

  @BeforeAll
  void startServer() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logs.start();
    root.addAppender(logs);
    server = start("tls");
    port = server.addresses().getFirst().getPort();
    pin = lastDirectory.resolve("server-key.pub");
  }

  @AfterAll
  void stopServers() {
    server.close();
    extraServers.forEach(KueueServer::close);
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
  }

  /** A success clears the failure count of 127.0.0.1, so each test starts without a delay. */
  @BeforeEach
  void clearFailuresOfThisAddress() throws Exception {
    try (PeerConnection _ = connect(port, SECRET)) {
      // connected and authenticated
    }
  }

  private KueueServer start(String encryption) throws Exception {
    Path directory = Files.createTempDirectory(home, "server");
    lastDirectory = directory;
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
        """
            .formatted(SECRET, freePort(), encryption, directory.resolve("data")));
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    KueueConfig config = ConfigLoader.load(file, warning -> {}, Map.of("HOME", home.toString()));
    KueueServer started = KueueServer.start(config, Clock.systemUTC(), () -> {});
    if (server != null) {
      extraServers.add(started);
    }
    return started;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private PeerConnection connect(int port, String secret) throws Exception {
    return connect(port, secret, TransportSecurity.client(pin));
  }

  private static PeerConnection connect(int port, String secret, TransportSecurity transport)
      throws Exception {
    return PeerConnection.open("127.0.0.1", port, secret, "client", "test", TIMEOUT, transport);
  }

  private static Message.Hello hello() {
    return new Message.Hello(Message.PROTOCOL_VERSION, "client", Handshakes.newNonce(), "test");
  }

  /** ListAppender appends under its own lock. */
  private List<ILoggingEvent> logEvents() {
    synchronized (logs) {
      return List.copyOf(logs.list);
    }
  }

  /** The server logs on its own threads, possibly just after the peer saw the outcome. */
  private void awaitLogLine(Predicate<String> wanted) {
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(logEvents()).map(ILoggingEvent::getFormattedMessage).anyMatch(wanted));
  }

  @Test
  void aClientWithTheSecretIsServedOverTls() throws Exception {
    try (PeerConnection client = connect(port, SECRET)) {
      client.send(new Message.ListJobs(0, List.of()));

      assertThat(client.encrypted()).isTrue();
      assertThat(client.receive()).isInstanceOf(Message.JobList.class);
    }
  }

  @Test
  void aClientWithAnotherSecretIsRefused() {
    assertThatThrownBy(() -> connect(port, "not the secret"))
        .isInstanceOf(PeerConnection.AuthenticationException.class)
        .hasMessageContaining("authentication failed: the shared_secret differs");
  }

  @Test
  void aStrangerGetsNothingDerivedFromTheSecretToTestGuessesAgainst() throws Exception {
    // What anyone who can reach the port obtains without the secret: the certificate and the
    // challenge. The key is the random one in the data directory (another server with the same
    // secret has another), and the challenge holds a fresh nonce and nothing else.
    try (RawPeer stranger = RawPeer.tlsTrustingAnyServer(port)) {
      java.security.cert.Certificate[] presented =
          ((javax.net.ssl.SSLSocket) stranger.channel.socket()).getSession().getPeerCertificates();
      byte[] key = presented[0].getPublicKey().getEncoded();
      assertThat(key)
          .isEqualTo(
              kueue.protocol.ServerIdentity.loadOrCreate(lastDirectoryOf(pin).resolve("data"))
                  .encodedPublicKey());
      KueueServer twin = start("tls");
      try (RawPeer toTwin = RawPeer.tlsTrustingAnyServer(twin.addresses().getFirst().getPort())) {
        byte[] twinKey =
            ((javax.net.ssl.SSLSocket) toTwin.channel.socket())
                .getSession()
                .getPeerCertificates()[0]
                .getPublicKey()
                .getEncoded();
        assertThat(twinKey).as("same secret, another install").isNotEqualTo(key);
      }

      stranger.send(hello());
      byte[] challenge = stranger.nextLine();
      com.fasterxml.jackson.databind.JsonNode fields =
          new com.fasterxml.jackson.databind.ObjectMapper().readTree(challenge);
      List<String> names = new ArrayList<>();
      fields.fieldNames().forEachRemaining(names::add);
      assertThat(names).containsExactlyInAnyOrder("type", "protocol", "nonce");
      assertThat(fields.get("type").asText()).isEqualTo("challenge");
    }
  }

  private static Path lastDirectoryOf(Path pinFile) {
    return pinFile.getParent();
  }

  @Test
  void aWrongProofIsRefusedTheConnectionClosedAndThePeerAddressLogged() throws Exception {
    try (RawPeer intruder = RawPeer.tlsTrustingAnyServer(port)) {
      intruder.send(hello());
      assertThat(intruder.receive()).isInstanceOf(Message.Challenge.class);
      intruder.send(new Message.Authenticate("Z3Vlc3NlZCBwcm9vZg=="));

      assertThat(intruder.receive())
          .isInstanceOf(Message.Failure.class)
          .extracting(m -> ((Message.Failure) m).code())
          .isEqualTo("auth");
      assertThat(intruder.receive()).as("closed after the refusal").isNull();
      String address = intruder.channel.socket().getLocalSocketAddress().toString();
      awaitLogLine(line -> line.startsWith("authentication failed for " + address));
    }
  }

  @Test
  void repeatedFailuresFromOneAddressAreAnsweredMoreAndMoreSlowly() throws Exception {
    List<Duration> delays = new ArrayList<>();
    for (int attempt = 0; attempt < 3; attempt++) {
      try (RawPeer intruder = RawPeer.tlsTrustingAnyServer(port)) {
        intruder.send(hello());
        intruder.receive();
        long sent = System.nanoTime();
        intruder.send(new Message.Authenticate("Z3Vlc3NlZCBwcm9vZg=="));
        assertThat(intruder.receive()).isInstanceOf(Message.Failure.class);
        delays.add(Duration.ofNanos(System.nanoTime() - sent));
      }
    }

    assertThat(delays.get(0)).isGreaterThanOrEqualTo(Duration.ofMillis(200));
    assertThat(delays.get(1)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
    assertThat(delays.get(2)).isGreaterThanOrEqualTo(Duration.ofMillis(800));
    assertThat(delays.get(2)).isGreaterThan(delays.get(0).plusMillis(400));
  }

  @Test
  void aRequestBeforeAuthenticationIsNeverAnsweredAndClosesTheConnection() throws Exception {
    try (RawPeer early = RawPeer.tlsTrustingAnyServer(port)) {
      early.send(new Message.ListJobs(0, List.of()));

      assertThat(early.receive()).isNull();
    }
    try (RawPeer halfway = RawPeer.tlsTrustingAnyServer(port)) {
      halfway.send(hello());
      assertThat(halfway.receive()).isInstanceOf(Message.Challenge.class);
      halfway.send(new Message.ListJobs(0, List.of()));

      assertThat(halfway.receive()).isNull();
    }
    awaitLogLine(line -> line.contains("expected hello, got ListJobs"));
    awaitLogLine(line -> line.contains("expected authenticate, got ListJobs"));
  }

  @Test
  void aRecordedHandshakeReplayedOnANewConnectionIsRefused() throws Exception {
    Message.Hello recordedHello = hello();
    Message.Authenticate recordedProof;
    try (RawPeer genuine = RawPeer.tls(port, pin)) {
      genuine.send(recordedHello);
      Message.Challenge challenge = (Message.Challenge) genuine.receive();
      recordedProof =
          new Message.Authenticate(
              Handshakes.peerProof(
                  SECRET,
                  "client",
                  recordedHello.nonce(),
                  challenge.nonce(),
                  genuine.channel.binding()));
      genuine.send(recordedProof);
      assertThat(genuine.receive()).isInstanceOf(Message.Welcome.class);
    }

    try (RawPeer replay = RawPeer.tlsTrustingAnyServer(port)) {
      replay.send(recordedHello);
      assertThat(replay.receive()).isInstanceOf(Message.Challenge.class);
      replay.send(recordedProof);

      assertThat(replay.receive())
          .isEqualTo(
              new Message.Failure(
                  "auth", "authentication failed: the shared_secret differs from the server's"));
      assertThat(replay.receive()).isNull();
    }
  }

  @Test
  void aRelayWithAnotherKeyIsRefusedByTheClientBeforeItSaysAnything() throws Exception {
    try (LoopbackRelay relay =
        LoopbackRelay.terminatingTls(
            TransportSecurity.server(kueue.protocol.ServerIdentity.generate()),
            TransportSecurity.client(pin),
            port)) {
      assertThatThrownBy(() -> connect(relay.port(), SECRET))
          .isInstanceOfSatisfying(
              kueue.protocol.ServerKeyException.class,
              e ->
                  assertThat(e.reason())
                      .isEqualTo(kueue.protocol.ServerKeyException.Reason.MISMATCH));
      assertThat(relay.seen()).as("no message reached the relay in plain text").isEmpty();
    }
  }

  @Test
  void aRelayHoldingTheServerKeyStillCannotPassAProofFromOneConnectionToAnother() throws Exception {
    // As if the server's private key had leaked but not the secret: the relay can read the
    // traffic, yet every proof names the TLS connection it was made on, so the server refuses the
    // client's proof made for the connection to the relay.
    try (LoopbackRelay relay =
        LoopbackRelay.terminatingTls(
            TransportSecurity.server(
                kueue.protocol.ServerIdentity.loadOrCreate(pin.getParent().resolve("data"))),
            TransportSecurity.client(pin),
            port)) {
      assertThatThrownBy(() -> connect(relay.port(), SECRET))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("authentication failed");
      assertThat(new String(relay.seen(), StandardCharsets.UTF_8))
          .as("the relay did read the handshake")
          .contains("\"type\":\"authenticate\"")
          .doesNotContain("\"type\":\"welcome\"");
    }
  }

  @Test
  void aRelayThatForwardsBytesWorksButSeesNothingAndCannotReplayWhatItSaw() throws Exception {
    String marker = "forwarded-" + System.nanoTime();
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("echo", marker))
            .cwd(home.toString())
            .env(Map.of("MARKER", marker))
            .slots(1)
            .cpus(1)
            .ramMb(10)
            .globalResources(Map.of())
            .build();
    try (LoopbackRelay relay = LoopbackRelay.forwardingBytes(port)) {
      try (PeerConnection client = connect(relay.port(), SECRET)) {
        client.send(new Message.Submit(List.of(spec)));
        assertThat(client.receive()).isInstanceOf(Message.Submitted.class);
      }
      String seen = new String(relay.seen(), StandardCharsets.ISO_8859_1);
      assertThat(seen).doesNotContain(marker).doesNotContain("submit").doesNotContain("hello");
      assertThat(seen).doesNotContain(SECRET);

      byte[] recorded = relay.fromClients();
      try (Socket replay = new Socket(InetAddress.getLoopbackAddress(), port)) {
        replay.setSoTimeout(15_000);
        OutputStream out = replay.getOutputStream();
        out.write(recorded);
        out.flush();
        String answer =
            new String(readUntilClosed(replay.getInputStream()), StandardCharsets.ISO_8859_1);
        assertThat(answer).doesNotContain("welcome");
      }
    }
    try (PeerConnection client = connect(port, SECRET)) {
      client.send(new Message.ListJobs(0, List.of()));
      Message.JobList list = (Message.JobList) client.receive();
      assertThat(list.jobs()).filteredOn(job -> job.command().contains(marker)).hasSize(1);
    }
  }

  @Test
  void aPlainClientAtATlsServerGetsAClearErrorAtOnce() throws Exception {
    long started = System.nanoTime();

    assertThatThrownBy(() -> connect(port, SECRET, TransportSecurity.none()))
        .isInstanceOf(EncryptionMismatchException.class)
        .hasMessageContaining("accepts only TLS-encrypted connections");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    awaitLogLine(line -> line.contains("refused an unencrypted connection"));
  }

  @Test
  void aTlsClientAtAPlainServerGetsAClearErrorAtOnceAndPlainClientsAreServed() throws Exception {
    KueueServer plain = start("none");
    int plainPort = plain.addresses().getFirst().getPort();
    long started = System.nanoTime();

    assertThatThrownBy(() -> connect(plainPort, SECRET))
        .isInstanceOf(EncryptionMismatchException.class)
        .hasMessageContaining("both ends need the same [common] encryption setting");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
    try (PeerConnection client = connect(plainPort, SECRET, TransportSecurity.none())) {
      client.send(new Message.ListJobs(0, List.of()));
      assertThat(client.encrypted()).isFalse();
      assertThat(client.receive()).isInstanceOf(Message.JobList.class);
    }
  }

  @Test
  void theSecretIsInNoLogLine() throws Exception {
    assertThatThrownBy(() -> connect(port, "a wrong secret"));
    try (RawPeer intruder = RawPeer.tlsTrustingAnyServer(port)) {
      intruder.send(hello());
      intruder.receive();
      intruder.send(new Message.Authenticate(SECRET));
      intruder.receive();
    }

    List<ILoggingEvent> events = logEvents();
    assertThat(events).isNotEmpty();
    assertThat(events)
        .noneMatch(event -> event.getFormattedMessage().contains(SECRET))
        .noneMatch(
            event ->
                event.getThrowableProxy() != null
                    && event.getThrowableProxy().getMessage() != null
                    && event.getThrowableProxy().getMessage().contains(SECRET));
  }

  private static byte[] readUntilClosed(InputStream in) {
    java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
    byte[] buffer = new byte[4096];
    try {
      int read;
      while ((read = in.read(buffer)) > 0) {
        all.write(buffer, 0, read);
      }
    } catch (IOException closedOrReset) {
      // the server dropped the replay: that is the expected end
    }
    return all.toByteArray();
  }
}
