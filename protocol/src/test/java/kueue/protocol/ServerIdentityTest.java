package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerIdentityTest {
  @Test
  void aDataDirectoryGetsItsOwnPrivateKeyFileOnceAndKeepsIt(@TempDir Path data) throws Exception {
    ServerIdentity first = ServerIdentity.loadOrCreate(data);
    ServerIdentity again = ServerIdentity.loadOrCreate(data);

    Path file = data.resolve(ServerIdentity.KEY_FILE);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(again.encodedPublicKey()).isEqualTo(first.encodedPublicKey());
    assertThat(again.certificate().getEncoded()).isEqualTo(first.certificate().getEncoded());
    try (var listing = Files.list(data)) {
      assertThat(listing).containsExactly(file);
    }
  }

  @Test
  void everyInstallHasAnotherKeyWhateverItsSecret(@TempDir Path one, @TempDir Path two)
      throws Exception {
    // Nothing about the key comes from the shared secret: the key a stranger fetches from the
    // server's port cannot be used to test guesses of it.
    assertThat(ServerIdentity.loadOrCreate(one).encodedPublicKey())
        .isNotEqualTo(ServerIdentity.loadOrCreate(two).encodedPublicKey());
    assertThat(ServerIdentity.generate().encodedPublicKey())
        .isNotEqualTo(ServerIdentity.generate().encodedPublicKey());
  }

  @Test
  void aKeyFileOthersMayReadIsRefusedWithTheChmodToRun(@TempDir Path data) throws Exception {
    ServerIdentity.loadOrCreate(data);
    Path file = data.resolve(ServerIdentity.KEY_FILE);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    assertThatThrownBy(() -> ServerIdentity.loadOrCreate(data))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("may be read or changed by other users")
        .hasMessageContaining("chmod 600 " + file);
  }

  @Test
  void aDamagedKeyFileIsRefusedRatherThanReplacedSilently(@TempDir Path data) throws Exception {
    Path file = data.resolve(ServerIdentity.KEY_FILE);
    Files.writeString(file, "kueue server key v1\nnot base64!\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    assertThatThrownBy(() -> ServerIdentity.loadOrCreate(data))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("is damaged; remove it");
  }

  @Test
  void theFingerprintIsWrittenAsSshWritesHostKeyFingerprints() {
    ServerIdentity identity = ServerIdentity.generate();

    assertThat(identity.fingerprint()).matches("SHA256:[A-Za-z0-9+/]{43}");
    assertThat(ServerIdentity.fingerprint(identity.encodedPublicKey()))
        .isEqualTo(identity.fingerprint());
  }

  @Test
  void theCertificateIsAValidSelfSignedEd25519VersionThreeCertificate() throws Exception {
    ServerIdentity identity = ServerIdentity.generate();
    var certificate = identity.certificate();

    certificate.verify(identity.publicKey());
    certificate.checkValidity();
    assertThat(certificate.getVersion()).isEqualTo(3);
    assertThat(certificate.getSigAlgOID()).isEqualTo("1.3.101.112");
    assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=kueue");
    assertThat(certificate.getIssuerX500Principal())
        .isEqualTo(certificate.getSubjectX500Principal());
    assertThat(certificate.getPublicKey().getEncoded()).isEqualTo(identity.encodedPublicKey());
  }
}
