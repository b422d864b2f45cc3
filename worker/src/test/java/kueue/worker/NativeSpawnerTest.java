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

/**
 * Jobs started through posix_spawn: own session, exact signals, nothing of the worker inherited.
 */
class NativeSpawnerTest {
  @TempDir Path dir;

  private final ProcessRunner runner =
      new ProcessRunner("test-worker", 64 * 1024, Duration.ofMillis(300));

  @BeforeEach
  void onlyWhereTheNativeSpawnerWorks() {
    assumeThat(NativeSpawner.load()).isPresent();
  }

  private JobResult run(String... argv) throws Exception {
    return runner
        .start(new AttemptRef(1, 1), Jobs.command(dir, argv))
        .result()
        .get(20, TimeUnit.SECONDS);
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

    List<String> fields =
        List.of(
            result
                .stdout()
                .text()
                .substring(result.stdout().text().lastIndexOf(')') + 2)
                .split(" "));
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

  @Test
  void outputOfManyReadsArrivesWholeOnBothStreams() throws Exception {
    JobResult result =
        run(
            "sh",
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done");

    List<String> out = result.stdout().text().lines().toList();
    List<String> err = result.stderr().text().lines().toList();
    assertThat(out).hasSize(3000).startsWith("out0").endsWith("out2999");
    assertThat(err).hasSize(3000).startsWith("err0").endsWith("err2999");
    assertThat(result.stdout().droppedBytes()).isZero();
  }

  @Test
  void endedJobsLeaveNoDescriptorOpenInTheWorker() throws Exception {
    run("true");
    long before = openDescriptors();
    for (int i = 0; i < 30; i++) {
      run("sh", "-c", "echo out; echo err >&2");
    }

    // Each job had two pipes: a leak would leave at least 30 more.
    assertThat(openDescriptors()).isLessThan(before + 10);
  }

  private static long openDescriptors() throws Exception {
    try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  @Test
  void theProcessStreamsReadThePipesWhereNoPidfdWatchesThem() throws Exception {
    NativeSpawner spawner = NativeSpawner.load().orElseThrow();
    Process process =
        spawner.spawn(
            Path.of("/bin/sh"),
            List.of("sh", "-c", "echo out; echo err >&2; exit 3"),
            List.of("PATH=/usr/bin:/bin"),
            dir,
            new NativeSpawner.Output.Pipe(),
            new NativeSpawner.Output.Pipe());

    try (var out = process.getInputStream();
        var err = process.getErrorStream()) {
      assertThat(new String(out.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo("out\n");
      assertThat(new String(err.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .isEqualTo("err\n");
    }
    assertThat(process.waitFor()).isEqualTo(3);
  }
}
