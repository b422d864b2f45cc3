package kueue.protocol;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The proofs of the mutual challenge-response handshake. Each side proves it knows the shared
 * secret by an HMAC-SHA256 over both fresh nonces and the connection's channel binding, with a
 * different label per direction, so a proof can neither be replayed on a later connection (new
 * nonces), nor relayed into another TLS connection (other channel binding), nor reflected back
 * (different label). The secret itself never leaves the process. The peer proves first, and the
 * server proves only to a peer that did, so nobody without the secret sees a proof to test guesses
 * against.
 */
public final class Handshakes {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int NONCE_BYTES = 32;

  private Handshakes() {}

  public static String newNonce() {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    return Base64.getEncoder().encodeToString(nonce);
  }

  /**
   * Sent by the server in its Welcome, after the peer's proof matched.
   *
   * @param channelBinding {@link TransportSecurity.Channel#binding()} of this connection
   */
  public static String serverProof(
      String secret, String role, String peerNonce, String serverNonce, String channelBinding) {
    return hmac(
        secret, proofInput("kueue-server-proof", role, peerNonce, serverNonce, channelBinding));
  }

  /**
   * Sent by the client or worker in Authenticate.
   *
   * @param channelBinding {@link TransportSecurity.Channel#binding()} of this connection
   */
  public static String peerProof(
      String secret, String role, String peerNonce, String serverNonce, String channelBinding) {
    return hmac(
        secret, proofInput("kueue-peer-proof", role, peerNonce, serverNonce, channelBinding));
  }

  /** The server's proof on an unencrypted connection, whose channel binding is "none". */
  public static String serverProof(
      String secret, String role, String peerNonce, String serverNonce) {
    return serverProof(secret, role, peerNonce, serverNonce, TransportSecurity.PLAIN_BINDING);
  }

  /** The peer's proof on an unencrypted connection, whose channel binding is "none". */
  public static String peerProof(String secret, String role, String peerNonce, String serverNonce) {
    return peerProof(secret, role, peerNonce, serverNonce, TransportSecurity.PLAIN_BINDING);
  }

  private static String proofInput(
      String label, String role, String peerNonce, String serverNonce, String channelBinding) {
    return String.join("\n", label, role, peerNonce, serverNonce, channelBinding);
  }

  /** Constant-time comparison so timing tells nothing about how much of a proof was right. */
  public static boolean matches(String expected, String received) {
    if (received == null) {
      return false;
    }
    return MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.UTF_8), received.getBytes(StandardCharsets.UTF_8));
  }

  /** A nonce must be the right size so that a peer cannot weaken the proof with an empty one. */
  public static boolean isWellFormedNonce(String nonce) {
    if (nonce == null || nonce.length() > 64) {
      return false;
    }
    try {
      return Base64.getDecoder().decode(nonce).length == NONCE_BYTES;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String hmac(String secret, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(data.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
