package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import kueue.model.AttemptRef;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs started through posix_spawn: own session, exact signals, nothing of the worker inherited. */
class NativeSpawnerTest {
  @TempDir Path dir;

  private final ProcessRunner runner = new ProcessRunner("test-worker", 64 * 1024, Duration.ofMillis(300));

  @BeforeEach
  void onlyWhereTheNativeSpawnerWorks() {
    assumeThat(NativeSpawner.load()).isPresent();
  }

  private JobResult run(String... argv) throws Exception {
    return runner.start(new AttemptRef(1, 1), Jobs.command(dir, argv)).result().get(20, TimeUnit.SECONDS);
  }

  @Test
  void aJobKilledByASignalReportsThatSignalAndNoExitCode() throws Exception {
    JobResult result = run("sh", "-c", "kill -9 $$");

    assertThat(result.outcome().signal()).isEqualTo(9);
    assertThat(result.outcome().exitCode()).isNull();
  }

  @Test
  void anExitCodeAbove128IsStillAnExitCode() throws Exception {
    JobResult result = run("sh", "-c", "exit 137");

    assertThat(result.outcome().exitCode()).isEqualTo(137);
    assertThat(result.outcome().signal()).isNull();
  }

  @Test
  void theJobLeadsItsOwnSessionAndProcessGroup() throws Exception {
    // /proc/self/stat: pid (comm) state ppid pgrp session ...
    JobResult result = run("cat", "/proc/self/stat");

    List<String> fields = List.of(result.stdout().text().substring(result.stdout().text().lastIndexOf(')') + 2).split(" "));
    String pid = result.stdout().text().substring(0, result.stdout().text().indexOf(' '));
    assertThat(fields.get(2)).as("process group").isEqualTo(pid);
    assertThat(fields.get(3)).as("session").isEqualTo(pid);
  }

  @Test
  void theJobInheritsNoDescriptorOfTheWorkerBeyondItsThreeStreams() throws Exception {
    JobResult result = run("sh", "-c", "ls /proc/$$/fd");

    assertThat(result.stdout().text().lines().toList()).containsExactlyInAnyOrder("0", "1", "2");
  }

  @Test
  void theSignalMaskOfTheWorkerIsNotInherited() throws Exception {
    // grep itself is the spawned process, so its status shows the mask it was started with (a
    // shell would show its own, which it changes around every child it starts).
    JobResult result = run("grep", "^SigBlk", "/proc/self/status");

    assertThat(result.stdout().text()).isEqualTo("SigBlk:\t0000000000000000\n");
  }
}
