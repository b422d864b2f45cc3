package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.interfaces.EdECPrivateKey;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class ServerIdentityTest {
  /** Also computed with OpenSSL in docs/SECURITY.md, so a change of the derivation is noticed. */
  private static final String VECTOR_SECRET = "kueue-test-vector";

  private static final String VECTOR_PRIVATE_KEY =
      "afa14790ca52b96f599e81beac36b9e3a973096bf4e387595fc0f3d563ddf598";
  private static final String VECTOR_PUBLIC_KEY_INFO =
      "302a300506032b6570032100dd1f82bafe43489992145c943a1488185831964a2dff24631f0cdd3e9e90a80a";

  @Test
  void theSameSecretAlwaysGivesTheSameKeyAndByteForByteTheSameCertificate() throws Exception {
    ServerIdentity first = ServerIdentity.derive("shared secret");
    ServerIdentity second = ServerIdentity.derive("shared secret");

    assertThat(second.publicKey().getEncoded()).isEqualTo(first.publicKey().getEncoded());
    assertThat(second.certificate().getEncoded()).isEqualTo(first.certificate().getEncoded());
  }

  @Test
  void anotherSecretGivesAnotherKey() {
    assertThat(ServerIdentity.derive("secret one").publicKey().getEncoded())
        .isNotEqualTo(ServerIdentity.derive("secret two").publicKey().getEncoded());
  }

  @Test
  void thePrivateKeyIsTheDocumentedHkdfOutput() throws Exception {
    byte[] expected =
        hkdfSha256(VECTOR_SECRET, "kueue-server-identity", "kueue tls ed25519 private key v1");

    assertThat(ServerIdentity.privateKeyBytes(VECTOR_SECRET)).isEqualTo(expected);
    assertThat(HexFormat.of().formatHex(expected)).isEqualTo(VECTOR_PRIVATE_KEY);
    EdECPrivateKey key = (EdECPrivateKey) ServerIdentity.derive(VECTOR_SECRET).privateKey();
    assertThat(key.getBytes()).hasValue(expected);
  }

  @Test
  void thePublicKeyMatchesTheOneOpenSslComputesFromTheSamePrivateKey() {
    assertThat(
            HexFormat.of().formatHex(ServerIdentity.derive(VECTOR_SECRET).publicKey().getEncoded()))
        .isEqualTo(VECTOR_PUBLIC_KEY_INFO);
  }

  @Test
  void theCertificateIsAValidSelfSignedEd25519VersionThreeCertificate() throws Exception {
    ServerIdentity identity = ServerIdentity.derive(VECTOR_SECRET);
    var certificate = identity.certificate();

    certificate.verify(identity.publicKey());
    certificate.checkValidity();
    assertThat(certificate.getVersion()).isEqualTo(3);
    assertThat(certificate.getSigAlgOID()).isEqualTo("1.3.101.112");
    assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=kueue");
    assertThat(certificate.getIssuerX500Principal())
        .isEqualTo(certificate.getSubjectX500Principal());
    assertThat(certificate.getPublicKey().getEncoded())
        .isEqualTo(identity.publicKey().getEncoded());
  }

  /** RFC 5869 written out with HMAC, independent of the JDK's KDF class. */
  private static byte[] hkdfSha256(String inputKey, String salt, String info) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(salt.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    byte[] pseudoRandomKey = mac.doFinal(inputKey.getBytes(StandardCharsets.UTF_8));
    mac.init(new SecretKeySpec(pseudoRandomKey, "HmacSHA256"));
    mac.update(info.getBytes(StandardCharsets.UTF_8));
    mac.update((byte) 1);
    return mac.doFinal();
  }
}
