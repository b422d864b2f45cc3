package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

  @Test
  void aClientWithTheSameSecretTalksOverTlsBoundToItsOwnConnection() throws Exception {
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.tls(SECRET), SECRET);
        PeerConnection first = open(server.port(), SECRET, TransportSecurity.tls(SECRET));
        PeerConnection _ = open(server.port(), SECRET, TransportSecurity.tls(SECRET))) {
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
  void bothEndsOfOneTlsConnectionComputeTheSameChannelBinding() throws Exception {
    TransportSecurity transport = TransportSecurity.tls(SECRET);
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
          TransportSecurity.tls(SECRET).connect(socket, "127.0.0.1", listener.getLocalPort());
      TransportSecurity.Channel accepted = serverSide.get(10, TimeUnit.SECONDS);

      assertThat(clientSide.binding()).isEqualTo(accepted.binding());
      assertThat(clientSide.encrypted()).isTrue();
      assertThat(accepted.encrypted()).isTrue();
      clientSide.socket().close();
      accepted.socket().close();
    }
  }

  @Test
  void aServerWhoseKeyIsNotDerivedFromTheSecretIsRefusedDuringTls() throws Exception {
    try (HandshakeServer impostor =
        new HandshakeServer(TransportSecurity.tls("another secret"), "another secret")) {
      assertThatThrownBy(() -> open(impostor.port(), SECRET, TransportSecurity.tls(SECRET)))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("certificate is not derived from this shared_secret");
      // The client's alert or its hang-up, whichever the impostor notices first.
      assertThat(outcome(impostor)).isInstanceOf(java.io.IOException.class);
    }
  }

  @Test
  void aClientKeepsTheServersKeyInItsCacheDirectoryReadableOnlyByItsUser(@TempDir Path home)
      throws Exception {
    Path cache = home.resolve("cache").resolve("kueue");
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.tls(SECRET), SECRET);
        PeerConnection connection =
            open(server.port(), SECRET, TransportSecurity.tls(SECRET, cache))) {
      assertThat(connection.encrypted()).isTrue();
    }

    Path file = cache.resolve(ServerIdentity.cacheFileName(SECRET));
    assertThat(Files.readAllBytes(file))
        .isEqualTo(ServerIdentity.derive(SECRET).publicKey().getEncoded());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)))
        .isEqualTo("rwx------");
    try (var listing = Files.list(cache)) {
      assertThat(listing).containsExactly(file);
    }
  }

  @Test
  void aDamagedCachedKeyIsReplacedInsteadOfLockingTheClientOut(@TempDir Path cache)
      throws Exception {
    Path file = cache.resolve(ServerIdentity.cacheFileName(SECRET));
    byte[] wrongKey = ServerIdentity.derive("another secret").publicKey().getEncoded();
    Files.write(file, wrongKey);

    try (HandshakeServer server = new HandshakeServer(TransportSecurity.tls(SECRET), SECRET);
        PeerConnection connection =
            open(server.port(), SECRET, TransportSecurity.tls(SECRET, cache))) {
      assertThat(connection.encrypted()).isTrue();
    }

    assertThat(Files.readAllBytes(file))
        .isEqualTo(ServerIdentity.derive(SECRET).publicKey().getEncoded());
  }

  @Test
  void aCachedKeyDoesNotMakeAnImpostorTrusted(@TempDir Path cache) throws Exception {
    // The impostor's key sits in the cache file of this secret, as if someone who can write the
    // user's files had put it there.
    Path file = cache.resolve(ServerIdentity.cacheFileName(SECRET));
    try (HandshakeServer impostor =
        new HandshakeServer(TransportSecurity.tls("another secret"), "another secret")) {
      Files.write(file, ServerIdentity.derive("another secret").publicKey().getEncoded());
      // TLS accepts the planted key, but the impostor cannot prove the secret in the Kueue
      // handshake, so the client stops before sending anything but its hello.
      assertThatThrownBy(() -> open(impostor.port(), SECRET, TransportSecurity.tls(SECRET, cache)))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("could not prove it knows the shared secret");
    }
  }

  @Test
  void theCacheFileOfOneSecretIsNotFoundWithAnother() {
    assertThat(ServerIdentity.cacheFileName(SECRET))
        .startsWith("server-key-")
        .isNotEqualTo(ServerIdentity.cacheFileName("another secret"))
        .doesNotContain(SECRET);
  }

  @Test
  void aServerWithTheRightKeyButWithoutTheSecretCannotProveItself() throws Exception {
    // As if the derived private key had leaked without the secret: TLS succeeds, the proof fails.
    try (HandshakeServer impostor =
        new HandshakeServer(TransportSecurity.tls(SECRET), "a guessed secret")) {
      assertThatThrownBy(() -> open(impostor.port(), SECRET, TransportSecurity.tls(SECRET)))
          .isInstanceOf(PeerConnection.AuthenticationException.class)
          .hasMessageContaining("could not prove it knows the shared secret");
    }
  }

  @Test
  void aPlainClientAtATlsServerIsToldAtOnceThatTheServerRequiresTls() throws Exception {
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.tls(SECRET), SECRET)) {
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
      assertThatThrownBy(() -> open(server.port(), SECRET, TransportSecurity.tls(SECRET)))
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
    try (HandshakeServer server = new HandshakeServer(TransportSecurity.tls(SECRET), SECRET)) {
      PeerConnection connection = open(server.port(), SECRET, TransportSecurity.tls(SECRET));
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
