package kueue.protocol;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * The server's TLS key pair and certificate. The key pair is random, made once per server data
 * directory and kept there ({@value #KEY_FILE}, mode 0600); clients and workers trust the server
 * only if it holds the key named in their pin file ({@link ServerKeyPin}), which the server writes
 * next to the configuration when it starts. Nothing about the key depends on the shared secret, so
 * the key a stranger can fetch from the server's port says nothing about the secret.
 *
 * <p>The file holds the 32 random bytes of an Ed25519 private key. The certificate is self-signed
 * with fixed fields (serial 1, CN=kueue, valid from 2000-01-01 to 9999-12-31): TLS only needs it to
 * carry the public key, and clients check nothing else.
 */
public final class ServerIdentity {
  /** The private key's file in the server's data directory. */
  public static final String KEY_FILE = "server-key";

  private static final String KEY_FILE_HEADER = "kueue server key v1";
  private static final int SEED_BYTES = 32;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final byte[] ED25519_ALGORITHM = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
  private static final byte[] COMMON_NAME_OID = {0x06, 0x03, 0x55, 0x04, 0x03};

  private final KeyPair keyPair;
  private X509Certificate certificate;

  private ServerIdentity(KeyPair keyPair) {
    this.keyPair = keyPair;
  }

  /** A new random identity, kept only in memory. */
  public static ServerIdentity generate() {
    byte[] seed = new byte[SEED_BYTES];
    RANDOM.nextBytes(seed);
    try {
      return fromSeed(seed);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  /**
   * The identity kept in {@code dataDirectory}, made and stored on first use.
   *
   * @throws IOException when the file cannot be read or written, is damaged, or other users may
   *     read it (the message says what to do)
   */
  public static ServerIdentity loadOrCreate(Path dataDirectory) throws IOException {
    Path file = dataDirectory.resolve(KEY_FILE);
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      create(file);
    }
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(file + " is not a regular file; remove it to make a new server key");
    }
    refuseLoosePermissions(file);
    List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    byte[] seed = null;
    try {
      if (lines.size() >= 2 && KEY_FILE_HEADER.equals(lines.get(0).strip())) {
        seed = Base64.getDecoder().decode(lines.get(1).strip());
      }
    } catch (IllegalArgumentException damaged) {
      seed = null;
    }
    if (seed == null || seed.length != SEED_BYTES) {
      throw new IOException(
          file
              + " is damaged; remove it to make a new server key (clients and workers then trust"
              + " the new key once the server has written its pin file again)");
    }
    try {
      return fromSeed(seed);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  private static void refuseLoosePermissions(Path file) throws IOException {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
    } catch (UnsupportedOperationException noPosix) {
      return;
    }
    for (PosixFilePermission loose :
        List.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE)) {
      if (permissions.contains(loose)) {
        throw new IOException(
            "the server's private key "
                + file
                + " may be read or changed by other users (mode "
                + PosixFilePermissions.toString(permissions)
                + "); run: chmod 600 "
                + file);
      }
    }
  }

  /** Mode 0600, written whole; a server that started at the same moment keeps its own key. */
  private static void create(Path file) throws IOException {
    byte[] seed = new byte[SEED_BYTES];
    RANDOM.nextBytes(seed);
    try {
      PrivateFiles.write(
          file,
          KEY_FILE_HEADER + "\n" + Base64.getEncoder().encodeToString(seed) + "\n",
          "rw-------",
          false);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  private static ServerIdentity fromSeed(byte[] seed) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
      generator.initialize(NamedParameterSpec.ED25519, new FixedBytes(seed));
      return new ServerIdentity(generator.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is part of every JDK since 15", e);
    }
  }

  /** The SubjectPublicKeyInfo (X.509) encoding of the public key, as the pin file holds it. */
  public byte[] encodedPublicKey() {
    return keyPair.getPublic().getEncoded();
  }

  /** As ssh prints host keys: {@code SHA256:} and the unpadded Base64 of the key's digest. */
  public String fingerprint() {
    return fingerprint(encodedPublicKey());
  }

  /** The fingerprint of an encoded public key, see {@link #fingerprint()}. */
  public static String fingerprint(byte[] encodedPublicKey) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(encodedPublicKey);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  public PublicKey publicKey() {
    return keyPair.getPublic();
  }

  PrivateKey privateKey() {
    return keyPair.getPrivate();
  }

  /** Built on first use: clients and workers only need the public key, and they start often. */
  public synchronized X509Certificate certificate() {
    if (certificate == null) {
      try {
        certificate = selfSignedCertificate(keyPair);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("Ed25519 and X.509 are part of every JDK since 15", e);
      }
    }
    return certificate;
  }

  /**
   * A minimal X.509 v3 certificate (RFC 5280) without extensions: the JDK has no public API to
   * create one, and this one never needs more than a public key that TLS can use.
   */
  private static X509Certificate selfSignedCertificate(KeyPair keyPair)
      throws GeneralSecurityException {
    byte[] name = der(0x30, der(0x31, der(0x30, COMMON_NAME_OID, der(0x0c, ascii("kueue")))));
    byte[] validity =
        der(0x30, der(0x17, ascii("000101000000Z")), der(0x18, ascii("99991231235959Z")));
    byte[] version = der(0xa0, new byte[] {0x02, 0x01, 0x02});
    byte[] serial = {0x02, 0x01, 0x01};
    byte[] toBeSigned =
        der(
            0x30,
            version,
            serial,
            ED25519_ALGORITHM,
            name,
            validity,
            name,
            keyPair.getPublic().getEncoded());
    Signature signer = Signature.getInstance("Ed25519");
    signer.initSign(keyPair.getPrivate());
    signer.update(toBeSigned);
    byte[] signature = signer.sign();
    byte[] bitString = new byte[signature.length + 1]; // leading 0: no unused bits
    System.arraycopy(signature, 0, bitString, 1, signature.length);
    byte[] encoded = der(0x30, toBeSigned, ED25519_ALGORITHM, der(0x03, bitString));
    return (X509Certificate)
        CertificateFactory.getInstance("X.509")
            .generateCertificate(new ByteArrayInputStream(encoded));
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** One DER tag-length-value; the contents are short, so two length bytes always suffice. */
  private static byte[] der(int tag, byte[]... contents) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (byte[] part : contents) {
      body.writeBytes(part);
    }
    int length = body.size();
    ByteArrayOutputStream out = new ByteArrayOutputStream(length + 4);
    out.write(tag);
    if (length < 0x80) {
      out.write(length);
    } else if (length < 0x100) {
      out.write(0x81);
      out.write(length);
    } else {
      out.write(0x82);
      out.write(length >> 8);
      out.write(length & 0xff);
    }
    out.writeBytes(body.toByteArray());
    return out.toByteArray();
  }

  /**
   * Hands the stored bytes to the JDK's Ed25519 key pair generator, which takes the 32 bytes of a
   * private key from its random source; that is the only way to get the matching public key from
   * the JDK without implementing curve arithmetic here.
   */
  private static final class FixedBytes extends SecureRandom {
    private final byte[] bytes;
    private boolean used;

    FixedBytes(byte[] bytes) {
      this.bytes = bytes.clone();
    }

    @Override
    public synchronized void nextBytes(byte[] target) {
      if (used || target.length != bytes.length) {
        throw new IllegalStateException(
            "the Ed25519 generator asked for other random bytes than one private key");
      }
      used = true;
      System.arraycopy(bytes, 0, target, 0, bytes.length);
      Arrays.fill(bytes, (byte) 0);
    }
  }
}
