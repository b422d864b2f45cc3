package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class TransportSecurityTest {
  private static final String SECRET = "the shared secret of this test";
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private static PeerConnection open(int port, String secret, TransportSecurity transport)
      throws Exception {
    return PeerConnection.open("127.0.0.1", port, secret, "client", "test", TIMEOUT, transport);
  }

  private static Object outcome(HandshakeServer server) throws InterruptedException {
    Object outcome = server.outcomes.poll(10, TimeUnit.SECONDS);
    assertThat(outcome).as("the server finished the connection setup").isNotNull();
    return outcome;
  }

  private final ServerIdentity serverKey = ServerIdentity.generate();

  private TransportSecurity server() {
    return TransportSecurity.server(serverKey);
  }

  private TransportSecurity pinned() {
    return TransportSecurity.clientTrusting(serverKey.encodedPublicKey());
  }

  @Test
  void aClientWithTheSameSecretTalksOverTlsBoundToItsOwnConnection() throws Exception {
    try (HandshakeServer server = new HandshakeServer(server(), SECRET);
        PeerConnection first = open(server.port(), SECRET, pinned());
        PeerConnection _ = open(server.port(), SECRET, pinned())) {
      first.send(new Message.ShowJob(7));

      assertThat(first.encrypted()).isTrue();
      assertThat(first.receive()).isEqualTo(new Message.ShowJob(7));
      String firstBinding = (String) outcome(server);
      String secondBinding = (String) outcome(server);
      assertThat(firstBinding).startsWith("tls-exporter:").hasSizeGreaterThan(40);
      assertThat(secondBinding).startsWith("tls-exporter:").isNotEqualTo(firstBinding);
    }
  }

  @Test
  void aClientTrustsTheKeyInItsPinFileAndReadsTheFileAgainForEveryConnection(@TempDir Path home)
      throws Exception {
    Path pin = home.resolve("server-key.pub");
    ServerKeyPin.publish(pin, ServerIdentity.generate(), "an old server");
    TransportSecurity client = TransportSecurity.client(pin);
    try (HandshakeServer server = new HandshakeServer(server(), SECRET)) {
      assertThatThrownBy(() -> open(server.port(), SECRET, client))
          .isInstanceOfSatisfying(
              ServerKeyException.class,
              e -> assertThat(e.reason()).isEqualTo(ServerKeyException.Reason.MISMATCH));

      ServerKeyPin.publish(pin, serverKey, "the server now listening");
      try (PeerConnection connection = open(server.port(), SECRET, client)) {
        assertThat(connection.encrypted()).isTrue();
      }
    }
  }

  @Test
  void bothEndsOfOneTlsConnectionComputeTheSameChannelBinding() throws Exception {
    TransportSecurity transport = server();
    try (var listener = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<TransportSecurity.Channel> serverSide =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return transport.accept(listener.accept());
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      Socket socket = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
      TransportSecurity.Channel clientSide =
          pinned().connect(socket, "127.0.0.1", listener.getLocalPort());
      TransportSecurity.Channel accepted = serverSide.get(10, TimeUnit.SECONDS);

      assertThat(clientSide.binding()).isEqualTo(accepted.binding());
      assertThat(clientSide.encrypted()).isTrue();
      assertThat(accepted.encrypted()).isTrue();
      clientSide.socket().close();
      accepted.socket().close();
    }
  }

  @Test
  void aServerWithAnotherKeyIsRefusedDuringTlsBeforeTheClientSaysAnything() throws Exception {
    // Another program on the server's port, perhaps one that knows the secret's format and hopes
    // for a proof to test guesses against: the client hangs up during TLS.
    try (HandshakeServer impostor =
        new HandshakeServer(TransportSecurity.server(ServerIdentity.generate()), SECRET, true)) {
      assertThatThrownBy(() -> open(impostor.port(), SECRET, pinned()))
          .isInstanceOfSatisfying(
              ServerKeyException.class,
              e -> assertThat(e.reason()).isEqualTo(ServerKeyException.Reason.MISMATCH))
          .hasMessageContaining("not the Kueue server key pinned")
          .hasMessageContaining(serverKey.fingerprint());
      // The client's alert or its hang-up, whichever the impostor notices first.
      assertThat(outcome(impostor)).isInstanceOf(java.io.IOException.class);
      assertThat(impostor.received).isEmpty();
    }
  }

  @Test
  void withoutAPinFileTheClientDoesNotConnect(@TempDir Path home) throws Exception {
    try (HandshakeServer server = new HandshakeServer(server(), SECRET)) {
      assertThatThrownBy(
              () ->
                  open(
                      server.port(),
                      SECRET,
                      TransportSecurity.client(home.resolve("server-key.pub"))))
          .isInstanceOfSatisfying(
              ServerKeyException.class,
              e -> assertThat(e.reason()).isEqualTo(ServerKeyException.Reason.NOT_PINNED))
          .hasMessageContaining("does not exist");
      assertThat(server.received).isEmpty();
    }
  }

  @Test
  void thePeerProvesTheSecretFirstAndTheServerAfterwards() throws Exception {
    // A server holding the pinned key but not the secret (its key file was copied): it gets the
    // client's proof only because TLS showed it holds the key, and cannot answer with its own.
    try (HandshakeServer impostor = new HandshakeServer(server(), "a guessed secret", true)) {
      assertThatThrownBy(() -> open(impostor.port(), SECRET, pinned()))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("could not prove it knows the shared secret");
      assertThat(impostor.received.poll(5, TimeUnit.SECONDS)).isInstanceOf(Message.Hello.class);
      assertThat(impostor.received.poll(5, TimeUnit.SECONDS))
          .isInstanceOf(Message.Authenticate.class);
    }
  }

  @Test
  void aServerWithAnotherSecretRefusesTheClientsProof() throws Exception {
    try (HandshakeServer server = new HandshakeServer(server(), "another secret")) {
      assertThatThrownBy(() -> open(server.port(), SECRET, pinned()))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("authentication failed");
      assertThat(outcome(server)).isEqualTo("refused");
    }
  }

  @Test
  void aPlainClientAtATlsServerIsToldAtOnceThatTheServerRequiresTls() throws Exception {
    try (HandshakeServer server = new HandshakeServer(server(), SECRET)) {
      assertThatThrownBy(() -> open(server.port(), SECRET, TransportSecurity.none()))
          .isInstanceOf(EncryptionMismatchException.class)
          .hasMessageContaining("accepts only TLS-encrypted connections")
          .hasMessageContaining("encryption = \"none\"");
      assertThat(outcome(server)).isInstanceOf(EncryptionMismatchException.class);
    }
  }

  @Test
  void aTlsClientAtAPlainServerIsToldAtOnceThatTheEncryptionSettingsDiffer() throws Exception {
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.none(), SECRET)) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> open(server.port(), SECRET, pinned()))
          .isInstanceOf(EncryptionMismatchException.class)
          .hasMessageContaining("both ends need the same [common] encryption setting");
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(TIMEOUT);
      assertThat(outcome(server)).isInstanceOf(EncryptionMismatchException.class);
    }
  }

  @Test
  void plainConnectionsWorkWhenBothEndsChoseThem() throws Exception {
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.none(), SECRET);
        PeerConnection connection = open(server.port(), SECRET, TransportSecurity.none())) {
      connection.send(new Message.ShowJob(3));

      assertThat(connection.encrypted()).isFalse();
      assertThat(connection.receive()).isEqualTo(new Message.ShowJob(3));
      assertThat(outcome(server)).isEqualTo("none");
    }
  }

  @Test
  void closingAnEncryptedConnectionEndsAWaitingReceiveAtOnce() throws Exception {
    try (HandshakeServer server = new HandshakeServer(server(), SECRET)) {
      PeerConnection connection = open(server.port(), SECRET, pinned());
      CompletableFuture<Throwable> waiting =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  connection.receive();
                  return null;
                } catch (Exception e) {
                  return e;
                }
              });
      outcome(server);

      connection.close();

      assertThat(waiting.get(5, TimeUnit.SECONDS)).isInstanceOf(java.io.IOException.class);
    }
  }

  @Test
  void aProofIsValidOnlyForTheChannelItWasMadeFor() {
    String peer = Handshakes.newNonce();
    String server = Handshakes.newNonce();
    String proof = Handshakes.peerProof(SECRET, "client", peer, server, "tls-exporter:AAAA");

    assertThat(
            Handshakes.matches(
                proof, Handshakes.peerProof(SECRET, "client", peer, server, "tls-exporter:AAAA")))
        .isTrue();
    assertThat(
            Handshakes.matches(
                proof, Handshakes.peerProof(SECRET, "client", peer, server, "tls-exporter:BBBB")))
        .isFalse();
    assertThat(Handshakes.matches(proof, Handshakes.peerProof(SECRET, "client", peer, server)))
        .isFalse();
  }
}
