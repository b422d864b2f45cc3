package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The script kueue_restart_workers runs on a host to start a worker there, run by a real sh on this
 * machine, without screen (the path that writes a log file).
 */
class WorkerStartScriptTest {
  @TempDir Path dir;

  @Test
  void aWorkerThatExitsAtOnceIsReportedWithItsStatusAndOnlyWhatItWroteThisTime() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state/kueue"));
    String host =
        new String(new ProcessBuilder("uname", "-n").start().getInputStream().readAllBytes())
            .strip();
    // What an earlier worker left in the log must not read as this one's reason.
    Files.writeString(
        state.resolve("worker-" + host + ".log"), "SIGTERM received: stopping\nstopped\n");
    Process process = startScript("sh -c \"echo boom >&2; exit 7\"");

    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(1);
    String err = Files.readString(dir.resolve("err.txt"));
    assertThat(err)
        .contains("the worker exited right away with status 7")
        .endsWith(":\nboom\n")
        .doesNotContain("SIGTERM");
  }

  /** A worker that exits at once, the first one on this host: there is no log file yet. */
  @Test
  void theFirstWorkerOfAHostThatExitsAtOnceIsReportedWithoutComplaintsAboutTheLog()
      throws Exception {
    Process process = startScript("sh -c \"echo boom >&2; exit 7\"");

    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(1);
    assertThat(Files.readString(dir.resolve("err.txt")))
        .startsWith("the worker exited right away with status 7")
        .endsWith(":\nboom\n");
  }

  /** Runs the script as kueue_restart_workers does (sh -s, the script on stdin). */
  private Process startScript(String workerCommand) throws Exception {
    Path bin = Files.createDirectories(dir.resolve("bin"));
    // Only these on the PATH: no screen, so the worker's output goes to the log file.
    for (String tool : List.of("setsid", "nohup", "wc", "tail", "mkdir", "uname", "sleep", "sh")) {
      Path wrapper = bin.resolve(tool);
      Files.writeString(wrapper, "#!/bin/sh\nexec " + findOnPath(tool) + " \"$@\"\n");
      assertThat(wrapper.toFile().setExecutable(true)).isTrue();
    }

    ProcessBuilder builder =
        new ProcessBuilder("/bin/sh", "-s")
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .redirectOutput(dir.resolve("out.txt").toFile())
            .redirectError(dir.resolve("err.txt").toFile());
    builder.environment().put("PATH", bin.toString());
    builder.environment().put("XDG_STATE_HOME", dir.resolve("state").toString());
    Process process = builder.start();
    process
        .getOutputStream()
        .write(
            RestartWorkersMain.START_SCRIPT
                .formatted(workerCommand)
                .getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().close();

    return process;
  }

  private static Path findOnPath(String tool) {
    for (String entry : System.getenv("PATH").split(File.pathSeparator)) {
      Path candidate = Path.of(entry, tool);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError(tool + " not found");
  }
}
