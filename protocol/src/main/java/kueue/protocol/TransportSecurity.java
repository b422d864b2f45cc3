package kueue.protocol;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
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
 * How a connection is protected: TLS 1.3 with the server identity derived from the shared secret
 * (the default), or nothing (only when the configuration says {@code encryption = "none"}).
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

  private final String secret;
  private final Path keyCacheDirectory;
  // Each side needs only its own context and key material; clients start often, so nothing is
  // computed in advance.
  private SSLContext serverContext;
  private SSLContext clientContext;

  private TransportSecurity(String secret, Path keyCacheDirectory) {
    this.secret = secret;
    this.keyCacheDirectory = keyCacheDirectory;
  }

  private synchronized SSLContext serverContext() {
    if (serverContext == null) {
      serverContext =
          newContext(new KeyManager[] {new DerivedKeyManager(ServerIdentity.derive(secret))}, null);
    }
    return serverContext;
  }

  private synchronized SSLContext clientContext() {
    if (clientContext == null) {
      clientContext =
          newContext(null, new TrustManager[] {new DerivedTrustManager(secret, keyCacheDirectory)});
    }
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

  /** TLS with the identity derived from {@code secret}. */
  public static TransportSecurity tls(String secret) {
    return tls(secret, null);
  }

  /**
   * TLS with the identity derived from {@code secret}; as a client, the server's public key is kept
   * in {@code keyCacheDirectory} (see {@link ServerIdentity#expectedKey}), null for none.
   */
  public static TransportSecurity tls(String secret, Path keyCacheDirectory) {
    if (secret == null) {
      throw new IllegalArgumentException("TLS needs the shared secret");
    }
    return new TransportSecurity(secret, keyCacheDirectory);
  }

  /** Plain TCP: everything, including commands and output, readable by anyone on the path. */
  public static TransportSecurity none() {
    return new TransportSecurity(null, null);
  }

  public static TransportSecurity of(boolean encrypted, String secret) {
    return encrypted ? tls(secret) : none();
  }

  public static TransportSecurity of(boolean encrypted, String secret, Path keyCacheDirectory) {
    return encrypted ? tls(secret, keyCacheDirectory) : none();
  }

  public boolean encrypted() {
    return secret != null;
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
   * succeeds with a server that holds the private key derived from the same secret.
   *
   * @throws PeerConnection.AuthenticationException when the server's certificate is not the derived
   *     one
   * @throws EncryptionMismatchException when the server does not speak TLS
   */
  public Channel connect(Socket socket, String host, int port)
      throws IOException, ProtocolException {
    if (!encrypted()) {
      return new Channel(socket, socket.getInputStream(), socket.getOutputStream(), PLAIN_BINDING);
    }
    SSLSocket tls =
        (SSLSocket) clientContext().getSocketFactory().createSocket(socket, host, port, true);
    tls.setUseClientMode(true);
    restrict(tls, CLIENT_GROUPS);
    try {
      tls.startHandshake();
    } catch (SSLException e) {
      if (causedBy(e, java.io.EOFException.class)) {
        throw new PeerConnection.ConnectionClosedException(
            "the server closed the connection during the TLS handshake");
      }
      if (causedBy(e, UntrustedCertificateException.class)) {
        throw new PeerConnection.AuthenticationException(
            "the server's TLS certificate is not derived from this shared_secret (a different"
                + " shared_secret, or not a Kueue server)");
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

  private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (type.isInstance(cause)) {
        return true;
      }
    }
    return false;
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

  /** Offers the derived key for TLS 1.3's Ed25519 signature scheme and nothing else. */
  private static final class DerivedKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "kueue";
    private final ServerIdentity identity;

    DerivedKeyManager(ServerIdentity identity) {
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
   * Trusts exactly one server key: the one derived from the secret. TLS itself checks that the
   * server holds the matching private key (CertificateVerify), so no certificate authority, host
   * name or date is involved.
   */
  private static final class DerivedTrustManager extends X509ExtendedTrustManager {
    private final String secret;
    private final Path keyCacheDirectory;

    DerivedTrustManager(String secret, Path keyCacheDirectory) {
      this.secret = secret;
      this.keyCacheDirectory = keyCacheDirectory;
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new UntrustedCertificateException("the server presented no certificate");
      }
      byte[] presented = chain[0].getPublicKey().getEncoded();
      boolean trusted =
          Arrays.equals(presented, ServerIdentity.expectedKey(secret, keyCacheDirectory))
              // A damaged cache file must not lock the client out: derive without it.
              || keyCacheDirectory != null
                  && ServerIdentity.refreshExpectedKey(secret, keyCacheDirectory, presented);
      if (!trusted) {
        throw new UntrustedCertificateException(
            "the server's certificate does not carry the key derived from the shared secret");
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
