package kueue.protocol;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How a connection is protected: TLS 1.3 with the server's own key, which clients and workers check
 * against their pin file (the default), or nothing (only when the configuration says {@code
 * encryption = "none"}).
 *
 * <p>Both sides end up with a {@link Channel} whose {@link Channel#binding()} names the connection.
 * Over TLS it is the RFC 9266 "tls-exporter" value, which both ends of one TLS connection compute
 * alike and which differs on every other connection, so the handshake proofs that include it cannot
 * be reused elsewhere.
 */
public final class TransportSecurity {
  /** Written by a server that requires TLS to a peer that sent plain text. */
  public static final String ENCRYPTION_REQUIRED_CODE = "encryption";

  static final String EXPORTER_LABEL = "EXPORTER-Channel-Binding";
  static final String PLAIN_BINDING = "none";
  private static final String[] PROTOCOLS = {"TLSv1.3"};

  /**
   * The server's certificate is Ed25519, so no other signature scheme can be used, and X25519 is
   * the key exchange every JDK since 11 has. Naming them keeps the JDK from preparing and offering
   * all the others (NIST curves, finite-field groups, RSA and ECDSA schemes), which costs a cold
   * client more than the handshake itself.
   */
  private static final String[] SIGNATURE_SCHEMES = {"ed25519"};

  private static final String[] CLIENT_GROUPS = {"x25519"};

  /** The server also accepts secp256r1, so that a JDK without X25519 could still connect. */
  private static final String[] SERVER_GROUPS = {"x25519", "secp256r1"};

  private static final int TLS_HANDSHAKE_RECORD = 0x16;

  /** A TLS 1.2-framed fatal handshake_failure alert, the answer of a plain server to TLS. */
  private static final byte[] HANDSHAKE_FAILURE_ALERT = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};

  /** The server's key; null on a client's side and without encryption. */
  private final ServerIdentity identity;

  /** The client's pin file; null on a server's side and without encryption. */
  private final Path pinFile;

  /** The key a client trusts when it was given one instead of a pin file. */
  private final byte[] trustedKey;

  // Each side needs only its own context; clients start often, so nothing is made in advance.
  private SSLContext serverContext;
  private SSLContext clientContext;
  private PinnedKeyTrustManager pinnedKeyTrust;

  private TransportSecurity(ServerIdentity identity, Path pinFile, byte[] trustedKey) {
    this.identity = identity;
    this.pinFile = pinFile;
    this.trustedKey = trustedKey;
  }

  private synchronized SSLContext serverContext() {
    if (serverContext == null) {
      serverContext = newContext(new KeyManager[] {new ServerKeyManager(identity)}, null);
    }
    return serverContext;
  }

  private synchronized SSLContext clientContext(byte[] pinnedKey) {
    if (clientContext == null) {
      pinnedKeyTrust = new PinnedKeyTrustManager();
      clientContext = newContext(null, new TrustManager[] {pinnedKeyTrust});
    }
    pinnedKeyTrust.pin(pinnedKey);
    return clientContext;
  }

  private static void restrict(SSLSocket socket, String[] groups) {
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setProtocols(PROTOCOLS);
    parameters.setNamedGroups(groups);
    parameters.setSignatureSchemes(SIGNATURE_SCHEMES);
    socket.setSSLParameters(parameters);
  }

  private static SSLContext newContext(KeyManager[] keys, TrustManager[] trust) {
    try {
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(keys, trust, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLS 1.3 is part of every JDK since 11", e);
    }
  }

  /** A server's TLS with {@code identity}'s key. */
  public static TransportSecurity server(ServerIdentity identity) {
    if (identity == null) {
      throw new IllegalArgumentException("a TLS server needs its key");
    }
    return new TransportSecurity(identity, null, null);
  }

  /**
   * A client's or worker's TLS, trusting only the server whose key {@code pinFile} names. The file
   * is read again on every connection, so a server that wrote a new pin is trusted without a
   * restart.
   */
  public static TransportSecurity client(Path pinFile) {
    if (pinFile == null) {
      throw new IllegalArgumentException("a TLS client needs the server key pin file");
    }
    return new TransportSecurity(null, pinFile, null);
  }

  /**
   * A client's TLS trusting exactly {@code encodedKey} (a SubjectPublicKeyInfo), for a program that
   * has the key at hand, such as the server connecting to itself.
   */
  public static TransportSecurity clientTrusting(byte[] encodedKey) {
    if (encodedKey == null) {
      throw new IllegalArgumentException("a TLS client needs the server's key");
    }
    return new TransportSecurity(null, null, encodedKey.clone());
  }

  /** Plain TCP: everything, including commands and output, readable by anyone on the path. */
  public static TransportSecurity none() {
    return new TransportSecurity(null, null, null);
  }

  /** {@link #client(Path)}, or {@link #none()} when not {@code encrypted}. */
  public static TransportSecurity forClient(boolean encrypted, Path pinFile) {
    return encrypted ? client(pinFile) : none();
  }

  public boolean encrypted() {
    return identity != null || pinFile != null || trustedKey != null;
  }

  /**
   * The server's side of a freshly accepted connection. The first byte tells a TLS client from a
   * plain one, so that a mismatch gets a clear answer instead of a hang: a plain peer at a TLS
   * server receives a {@code failure} line with code {@value #ENCRYPTION_REQUIRED_CODE}, a TLS peer
   * at a plain server a TLS handshake_failure alert.
   *
   * @throws ProtocolException when the peer's kind of connection does not match this one
   * @throws IOException when the TLS handshake fails or the peer goes away
   */
  public Channel accept(Socket socket) throws IOException, ProtocolException {
    InputStream raw = socket.getInputStream();
    int first = raw.read();
    if (first < 0) {
      throw new ProtocolException("closed before sending anything");
    }
    boolean peerUsesTls = first == TLS_HANDSHAKE_RECORD;
    if (!encrypted()) {
      if (peerUsesTls) {
        OutputStream out = socket.getOutputStream();
        out.write(HANDSHAKE_FAILURE_ALERT);
        out.flush();
        throw new EncryptionMismatchException(
            "refused a TLS connection: this server has encryption = \"none\"");
      }
      InputStream input =
          new SequenceInputStream(new ByteArrayInputStream(new byte[] {(byte) first}), raw);
      return new Channel(socket, input, socket.getOutputStream(), PLAIN_BINDING);
    }
    if (!peerUsesTls) {
      OutputStream out = socket.getOutputStream();
      out.write(
          MessageCodec.encode(
              new Message.Failure(
                  ENCRYPTION_REQUIRED_CODE,
                  "this Kueue server accepts only TLS-encrypted connections; remove"
                      + " encryption = \"none\" from [common] in your config (the default is"
                      + " \"tls\")")));
      out.flush();
      throw new EncryptionMismatchException(
          "refused an unencrypted connection (the peer has encryption = \"none\")");
    }
    SSLSocket tls =
        (SSLSocket)
            serverContext()
                .getSocketFactory()
                .createSocket(socket, new ByteArrayInputStream(new byte[] {(byte) first}), true);
    tls.setUseClientMode(false);
    restrict(tls, SERVER_GROUPS);
    tls.startHandshake();
    return new Channel(tls, tls.getInputStream(), tls.getOutputStream(), binding(tls));
  }

  /**
   * The client's or worker's side of a connected socket: over TLS, the handshake, which only
   * succeeds with a server that holds the private key of the pinned public key.
   *
   * @throws ServerKeyException when no key is pinned or the server holds another one
   * @throws EncryptionMismatchException when the server does not speak TLS
   */
  public Channel connect(Socket socket, String host, int port)
      throws IOException, ProtocolException {
    if (!encrypted()) {
      return new Channel(socket, socket.getInputStream(), socket.getOutputStream(), PLAIN_BINDING);
    }
    if (identity != null) {
      throw new IllegalStateException("a server's transport cannot connect as a client");
    }
    byte[] pinned = trustedKey != null ? trustedKey : ServerKeyPin.read(pinFile);
    SSLSocket tls =
        (SSLSocket) clientContext(pinned).getSocketFactory().createSocket(socket, host, port, true);
    tls.setUseClientMode(true);
    restrict(tls, CLIENT_GROUPS);
    try {
      tls.startHandshake();
    } catch (SSLException e) {
      if (causedBy(e, java.io.EOFException.class) || causedBy(e, java.net.SocketException.class)) {
        throw new PeerConnection.ConnectionClosedException(
            "the server closed the connection during the TLS handshake");
      }
      UntrustedCertificateException untrusted = cause(e, UntrustedCertificateException.class);
      if (untrusted != null) {
        throw new ServerKeyException(
            ServerKeyException.Reason.MISMATCH,
            "the program at "
                + host
                + ":"
                + port
                + " holds "
                + untrusted.getMessage()
                + ", not the Kueue server key pinned in "
                + (pinFile != null ? pinFile : "this program")
                + " ("
                + ServerIdentity.fingerprint(pinned)
                + "): another program may hold the server's port while the server is down, or the"
                + " server's data directory was replaced (then start the server, which writes the"
                + " pin again, or copy the pin file from its machine)");
      }
      throw new EncryptionMismatchException(
          "the TLS handshake with the server failed ("
              + e.getMessage()
              + "); the server probably has encryption = \"none\": both ends need the same"
              + " [common] encryption setting",
          e);
    }
    return new Channel(tls, tls.getInputStream(), tls.getOutputStream(), binding(tls));
  }

  private static <T extends Throwable> T cause(Throwable e, Class<T> type) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (type.isInstance(cause)) {
        return type.cast(cause);
      }
    }
    return null;
  }

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    return cause(e, type) != null;
  }

  private static String binding(SSLSocket socket) throws SSLException {
    if (!(socket.getSession() instanceof ExtendedSSLSession session)) {
      throw new SSLException("the TLS implementation offers no keying material exporter");
    }
    byte[] exported = session.exportKeyingMaterialData(EXPORTER_LABEL, new byte[0], 32);
    return "tls-exporter:" + Base64.getEncoder().encodeToString(exported);
  }

  /**
   * One connection after transport setup. {@code input} may differ from the socket's own stream
   * when the first byte was already read to tell TLS from plain text.
   */
  public record Channel(Socket socket, InputStream input, OutputStream output, String binding) {
    public boolean encrypted() {
      return socket instanceof SSLSocket;
    }
  }

  private static final class UntrustedCertificateException extends CertificateException {
    UntrustedCertificateException(String message) {
      super(message);
    }
  }

  /** Offers the server's key for TLS 1.3's Ed25519 signature scheme and nothing else. */
  private static final class ServerKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "kueue";
    private final ServerIdentity identity;

    ServerKeyManager(ServerIdentity identity) {
      this.identity = identity;
    }

    private String aliasFor(String keyType) {
      return "EdDSA".equalsIgnoreCase(keyType) || "Ed25519".equalsIgnoreCase(keyType)
          ? ALIAS
          : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return aliasFor(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return aliasFor(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? new X509Certificate[] {identity.certificate()} : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? identity.privateKey() : null;
    }
  }

  /**
   * Trusts exactly one server key: the pinned one. TLS itself checks that the server holds the
   * matching private key (CertificateVerify), so no certificate authority, host name or date is
   * involved.
   */
  private static final class PinnedKeyTrustManager extends X509ExtendedTrustManager {
    private volatile byte[] pinnedKey;

    void pin(byte[] key) {
      pinnedKey = key.clone();
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new UntrustedCertificateException("no certificate");
      }
      byte[] presented = chain[0].getPublicKey().getEncoded();
      byte[] expected = pinnedKey;
      if (expected == null || !MessageDigest.isEqual(presented, expected)) {
        throw new UntrustedCertificateException("the key " + ServerIdentity.fingerprint(presented));
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("clients prove the secret in the Kueue handshake instead");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("clients prove the secret in the Kueue handshake instead");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      throw new CertificateException("clients prove the secret in the Kueue handshake instead");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  @Override
  public String toString() {
    return encrypted() ? "TLS 1.3" : "unencrypted";
  }
}
