package kueue.client.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalEndpointTest {
  @TempDir Path temporary;
  @TempDir Path home;

  private Map<String, String> environment() {
    return Map.of("TMPDIR", temporary.toString(), "HOME", home.toString());
  }

  private Path shared() {
    return temporary.resolve("kueue-" + System.getProperty("user.name"));
  }

  @Test
  void theDaemonLivesInTheTemporaryDirectoryWhenItsPlaceThereIsFreeOrTheUsersOwn()
      throws Exception {
    assertThat(LocalEndpoint.directory(environment())).isEqualTo(shared());

    Files.createDirectory(
        shared(),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    assertThat(LocalEndpoint.directory(environment())).isEqualTo(shared());
  }

  @Test
  void aPlaceInTheTemporaryDirectoryThatOthersCanEnterIsPassedOverForTheUsersCache()
      throws Exception {
    // As if another user had made it first, open to all.
    Files.createDirectory(shared());
    Files.setPosixFilePermissions(shared(), PosixFilePermissions.fromString("rwxrwxrwx"));

    Path directory = LocalEndpoint.directory(environment());

    assertThat(directory.getParent()).isEqualTo(home.resolve(".cache/kueue"));
    assertThat(directory.getFileName().toString()).startsWith("cli-daemon-");
    LocalEndpoint endpoint = LocalEndpoint.forThisInstallation(environment());
    assertThat(endpoint.prepareDirectory()).isTrue();
    assertThat(endpoint.isPrivate()).isTrue();
  }

  @Test
  void aSessionsRuntimeDirectoryComesFirst() throws Exception {
    Path runtime = Files.createDirectory(home.resolve("run"));
    Map<String, String> environment =
        Map.of("XDG_RUNTIME_DIR", runtime.toString(), "TMPDIR", temporary.toString());

    assertThat(LocalEndpoint.directory(environment)).isEqualTo(runtime.resolve("kueue"));
  }
}
