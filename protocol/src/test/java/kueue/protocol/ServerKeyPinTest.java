package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerKeyPinTest {
  @Test
  void thePublishedKeyIsReadBackAndPublishingItAgainChangesNothing(@TempDir Path home)
      throws Exception {
    ServerIdentity identity = ServerIdentity.generate();
    Path pin = home.resolve("kueue").resolve("server-key.pub");

    assertThat(ServerKeyPin.publish(pin, identity, "written by a test")).isTrue();
    long written = Files.getLastModifiedTime(pin).toMillis();
    assertThat(ServerKeyPin.publish(pin, identity, "written by a test")).isFalse();

    assertThat(ServerKeyPin.read(pin)).isEqualTo(identity.encodedPublicKey());
    assertThat(Files.getLastModifiedTime(pin).toMillis()).isEqualTo(written);
    assertThat(Files.readString(pin)).startsWith("# ").contains("written by a test");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pin)))
        .isEqualTo("rw-r--r--");
  }

  @Test
  void aServerWithAnotherKeyReplacesThePin(@TempDir Path home) throws Exception {
    Path pin = home.resolve("server-key.pub");
    ServerKeyPin.publish(pin, ServerIdentity.generate(), "old");
    ServerIdentity replacement = ServerIdentity.generate();

    assertThat(ServerKeyPin.publish(pin, replacement, "new")).isTrue();

    assertThat(ServerKeyPin.read(pin)).isEqualTo(replacement.encodedPublicKey());
  }

  @Test
  void aMissingPinSaysWhereItComesFrom(@TempDir Path home) {
    Path pin = home.resolve("server-key.pub");

    assertThatThrownBy(() -> ServerKeyPin.read(pin))
        .isInstanceOfSatisfying(
            ServerKeyException.class,
            e -> assertThat(e.reason()).isEqualTo(ServerKeyException.Reason.NOT_PINNED))
        .hasMessageContaining(pin + " does not exist")
        .hasMessageContaining("start the server first")
        .hasMessageContaining("copy that file");
  }

  @Test
  void aPinOthersMayChangeIsNotTrusted(@TempDir Path home) throws Exception {
    Path pin = home.resolve("server-key.pub");
    ServerKeyPin.publish(pin, ServerIdentity.generate(), "test");
    Files.setPosixFilePermissions(pin, PosixFilePermissions.fromString("rw-rw-r--"));

    assertThatThrownBy(() -> ServerKeyPin.read(pin))
        .isInstanceOf(ServerKeyException.class)
        .hasMessageContaining("may be changed by other users")
        .hasMessageContaining("chmod 644 " + pin);
  }

  @Test
  void aDamagedPinSaysHowToGetANewOne(@TempDir Path home) throws Exception {
    Path pin = home.resolve("server-key.pub");
    Files.writeString(pin, "# comment only\nrsa AAAA\n");

    assertThatThrownBy(() -> ServerKeyPin.read(pin))
        .isInstanceOf(ServerKeyException.class)
        .hasMessageContaining("is damaged")
        .hasMessageContaining("restart the server");
  }
}
