package kueue.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DashboardCommandTest {
  @TempDir Path bin;

  @Test
  void aBrowserIsOpenedOnlyWhereThereIsADesktop() throws Exception {
    Path opener = bin.resolve("xdg-open");
    Files.writeString(opener, "#!/bin/sh\n");
    Files.setPosixFilePermissions(opener, PosixFilePermissions.fromString("rwx------"));
    String url = "http://127.0.0.1:1/?token=t";

    assertThat(DashboardCommand.browserCommand(url, Map.of("PATH", bin.toString()), "Linux"))
        .as("over ssh, without a display")
        .isNull();
    assertThat(
            DashboardCommand.browserCommand(
                url, Map.of("PATH", bin.toString(), "DISPLAY", ":0"), "Linux"))
        .containsExactly(opener.toString(), url);
    assertThat(DashboardCommand.browserCommand(url, Map.of("DISPLAY", ":0", "PATH", ""), "Linux"))
        .isNull();
    assertThat(DashboardCommand.browserCommand(url, Map.of(), "Mac OS X"))
        .isEqualTo(List.of("open", url));
    assertThat(DashboardCommand.browserCommand(url, Map.of("SSH_CONNECTION", "x"), "Mac OS X"))
        .isNull();
  }
}
