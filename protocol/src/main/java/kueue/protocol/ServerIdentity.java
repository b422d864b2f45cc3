package kueue.protocol;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.NamedParameterSpec;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.KDF;
import javax.crypto.Mac;
import javax.crypto.spec.HKDFParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The server's TLS key pair and certificate, computed from the shared secret alone, so that nobody
 * has to create, copy or renew certificate files: whoever knows the secret can compute the same
 * public key and check that the server holds the matching private key, and whoever does not know it
 * can neither impersonate the server nor predict its key.
 *
 * <p>The Ed25519 private key is the 32 bytes of HKDF-SHA256 (RFC 5869) with input keying material =
 * the UTF-8 bytes of shared_secret, salt = {@value #SALT_TEXT}, info = {@value #INFO_TEXT}. The
 * certificate is self-signed with that key, with fixed fields (serial 1, CN=kueue, valid from
 * 2000-01-01 to 9999-12-31) and Ed25519 signatures are deterministic, so the same secret always
 * gives byte-for-byte the same certificate.
 *
 * <p>Clients and workers only need the public key. Deriving it costs a cold JVM tens of
 * milliseconds of Ed25519 set-up, so {@link #expectedKey(String, Path)} keeps it in a file of the
 * user's cache directory, named by an HMAC of the secret (so another secret never finds it).
 */
public final class ServerIdentity {
  static final String SALT_TEXT = "kueue-server-identity";
  static final String INFO_TEXT = "kueue tls ed25519 private key v1";
  private static final byte[] ED25519_ALGORITHM = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
  private static final byte[] COMMON_NAME_OID = {0x06, 0x03, 0x55, 0x04, 0x03};
  static final String CACHE_LABEL = "kueue server public key cache v1";

  /** The SubjectPublicKeyInfo of an Ed25519 key: the algorithm header and 32 key bytes. */
  private static final int PUBLIC_KEY_INFO_BYTES = 44;

  private final KeyPair keyPair;
  private X509Certificate certificate;

  private ServerIdentity(KeyPair keyPair) {
    this.keyPair = keyPair;
  }

  /** Computes the identity; the same secret always gives the same key pair and certificate. */
  public static ServerIdentity derive(String secret) {
    byte[] seed = privateKeyBytes(secret);
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
      generator.initialize(NamedParameterSpec.ED25519, new FixedBytes(seed));
      return new ServerIdentity(generator.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 is part of every JDK since 15", e);
    } finally {
      Arrays.fill(seed, (byte) 0);
    }
  }

  /** The Ed25519 private key as documented in the class comment. */
  static byte[] privateKeyBytes(String secret) {
    try {
      KDF hkdf = KDF.getInstance("HKDF-SHA256");
      return hkdf.deriveData(
          HKDFParameterSpec.ofExtract()
              .addIKM(secret.getBytes(StandardCharsets.UTF_8))
              .addSalt(SALT_TEXT.getBytes(StandardCharsets.UTF_8))
              .thenExpand(INFO_TEXT.getBytes(StandardCharsets.UTF_8), 32));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HKDF-SHA256 is part of every JDK since 25", e);
    }
  }

  /**
   * The SubjectPublicKeyInfo of the server's public key, as {@link #publicKey()} would give it,
   * taken from {@code cacheDirectory} when an earlier run stored it there, else derived and stored.
   * The cache only saves time: a missing, unreadable or unwritable cache means deriving. A caller
   * that finds the server's key different from a cached one asks again with {@code cacheDirectory}
   * null, which derives without trusting the file.
   */
  public static byte[] expectedKey(String secret, Path cacheDirectory) {
    if (cacheDirectory == null) {
      return derive(secret).publicKey().getEncoded();
    }
    Path file = cacheDirectory.resolve(cacheFileName(secret));
    try {
      byte[] cached = Files.readAllBytes(file);
      if (cached.length == PUBLIC_KEY_INFO_BYTES) {
        return cached;
      }
    } catch (IOException | RuntimeException missing) {
      // Derive and store below.
    }
    byte[] derived = derive(secret).publicKey().getEncoded();
    store(cacheDirectory, file, derived);
    return derived;
  }

  /**
   * Derives the key without trusting the cache and, when it equals {@code presented}, replaces the
   * cached one, which was therefore damaged.
   *
   * @return whether {@code presented} is the key derived from the secret
   */
  static boolean refreshExpectedKey(String secret, Path cacheDirectory, byte[] presented) {
    byte[] derived = derive(secret).publicKey().getEncoded();
    if (!Arrays.equals(derived, presented)) {
      return false;
    }
    store(cacheDirectory, cacheDirectory.resolve(cacheFileName(secret)), derived);
    return true;
  }

  /** HMAC-SHA256 of a fixed label keyed with the secret: names the file, reveals nothing else. */
  static String cacheFileName(String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] tag = mac.doFinal(CACHE_LABEL.getBytes(StandardCharsets.UTF_8));
      return "server-key-" + HexFormat.of().formatHex(tag, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** Written under a temporary name with mode 0600 in a 0700 directory, then moved into place. */
  private static void store(Path directory, Path file, byte[] key) {
    Path temporary = null;
    try {
      try {
        Files.createDirectories(
            directory,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } catch (FileAlreadyExistsException notADirectory) {
        return;
      }
      temporary =
          Files.createTempFile(
              directory,
              ".server-key",
              ".tmp",
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.write(temporary, key);
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      temporary = null;
    } catch (IOException | RuntimeException e) {
      // Without a cache the next start derives the key again; nothing else depends on it.
    } finally {
      if (temporary != null) {
        try {
          Files.deleteIfExists(temporary);
        } catch (IOException ignored) {
          // a stray temporary file in the user's own cache directory is harmless
        }
      }
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
   * Hands the derived bytes to the JDK's Ed25519 key pair generator, which takes the 32 bytes of a
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
