package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Following jobs' output live (kueue cmd --follow, kueue log -f) through a real server and worker:
 * lines arrive while the job runs, a pending job is waited for, a batch's lines carry their index,
 * a server restart in the middle loses and repeats nothing, and a job printing 100 MB keeps going
 * while its follower does not read.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LiveOutputEndToEndTest {
  @TempDir static Path home;
  private Fleet fleet;
  private int files;

  @BeforeAll
  void startFleet() throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of("global_resources", "lock = 1"));
    fleet.startWorker("solo", "worker_max_parallel_jobs = 6");
  }

  @AfterAll
  void stopFleet() {
    fleet.close();
  }

  private record Follower(Process process, Path outFile, Path errFile) {
    String out() {
      return read(outFile);
    }

    String err() {
      return read(errFile);
    }

    int exitCode() throws InterruptedException {
      assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("the follower ends").isTrue();
      return process.exitValue();
    }

    private static String read(Path file) {
      try {
        return Files.readString(file, StandardCharsets.UTF_8);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  private Follower start(String... args) throws Exception {
    Path out = home.resolve("follow-" + files + ".out");
    Path err = home.resolve("follow-" + files++ + ".err");
    return new Follower(fleet.startKueue(out, err, args), out, err);
  }

  private static String lines(String prefix, int count) {
    StringBuilder text = new StringBuilder();
    for (int i = 1; i <= count; i++) {
      text.append(prefix).append(i).append('\n');
    }
    return text.toString();
  }

  /** A shell loop printing "line 1" ... "line N", one every 100 ms. */
  private static String everyTenthOfASecond(int count) {
    return "i=0; while [ $i -lt " + count + " ]; do i=$((i+1)); echo \"line $i\"; sleep 0.1; done";
  }

  @Test
  void cmdFollowShowsEachLineWhileTheJobRunsAndExitsWithItsCode() throws Exception {
    Follower follower =
        start("cmd", "--follow", "-c", "0", "sh", "-c", everyTenthOfASecond(30) + "; exit 3");

    // The first lines are on screen while the job still has seconds of printing ahead.
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> follower.out().contains("line 2\n"));
    assertThat(follower.out()).doesNotContain("line 25\n");

    assertThat(follower.exitCode()).as(follower.err()).isEqualTo(3);
    assertThat(follower.out()).isEqualTo(lines("line ", 30));
    assertThat(follower.err()).contains("failed with exit code 3");
  }

  @Test
  void aQuickJobWritingToAFileIsShownByFollowAndByLogAfterItEnded() throws Exception {
    Follower follower = start("cmd", "--follow", "-c", "0", "-o", "quick.txt", "echo", "quick");

    assertThat(follower.exitCode()).as(follower.err()).isZero();
    // It ended before the follower asked its worker: the file's end was kept with the attempt.
    assertThat(follower.out()).isEqualTo("quick\n");
    String job = follower.err().lines().findFirst().orElseThrow().replace("kueue: job ", "");
    assertThat(fleet.kueue("log", job).out()).isEqualTo("quick\n");
    assertThat(fleet.kueue("show-job", job).out()).contains("stdout (from quick.txt):\nquick\n");
  }

  @Test
  void logFollowOnAPendingJobWaitsForItsStartThenFollows() throws Exception {
    Path go = home.resolve("blocker-may-end");
    long blocker =
        fleet.submit(
            "-c",
            "0",
            "--resource",
            "lock",
            "sh",
            "-c",
            "while [ ! -e '" + go + "' ]; do sleep 0.1; done");
    long job =
        fleet.submit(
            "-c", "0", "--resource", "lock", "sh", "-c", "echo first; echo oops >&2; exit 5");
    assertThat(fleet.kueue("show-job", String.valueOf(job)).out())
        .contains("status:            pending");

    Follower follower = start("log", "-f", String.valueOf(job));

    // While it waits, the follower says why.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> follower.err().contains("kueue: job " + job + " waits: "));
    assertThat(follower.err()).contains("lock");
    Files.createFile(go);
    assertThat(follower.exitCode()).as(follower.err()).isEqualTo(5);
    // Not a terminal: both streams on stdout, stderr's lines marked.
    assertThat(follower.out()).isEqualTo("first\n[stderr] oops\n");
    assertThat(fleet.kueue("show-job", String.valueOf(blocker)).out()).contains("finished (0)");
  }

  @Test
  void logFollowOfABatchPrefixesEveryLineWithItsIndex() throws Exception {
    Fleet.Result submitted =
        fleet.kueue(
            "cmd",
            "-c",
            "0",
            "--array",
            "1-5",
            "sh",
            "-c",
            "for i in 1 2 3; do echo \"$KUEUE_ARRAY_INDEX says $i\"; sleep 0.2; done");
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    String batch = submitted.out().strip().split("[ :]")[1];

    Follower follower = start("log", "-f", "--batch", batch);

    assertThat(follower.exitCode()).as(follower.err()).isZero();
    List<String> expected = new ArrayList<>();
    IntStream.rangeClosed(1, 5)
        .forEach(
            index ->
                IntStream.rangeClosed(1, 3)
                    .forEach(i -> expected.add("[" + index + "] " + index + " says " + i)));
    assertThat(follower.out().lines().toList()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void aServerRestartInTheMiddleLosesAndRepeatsNothing() throws Exception {
    long job = fleet.submit("-c", "0", "sh", "-c", everyTenthOfASecond(60));
    Follower follower = start("log", "-f", String.valueOf(job));
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(20))
        .until(() -> follower.out().contains("line 5\n"));

    fleet.killServer();
    fleet.startServer(Map.of("global_resources", "lock = 1"));

    assertThat(follower.exitCode()).as(follower.err()).isZero();
    assertThat(follower.out()).isEqualTo(lines("line ", 60));
    assertThat(follower.err()).contains("trying again");
  }

  @Test
  void aJobPrinting100MegabytesKeepsItsSpeedWhileItsFollowerDoesNotRead() throws Exception {
    // The follower's stdout is a pipe nobody reads: it blocks as soon as the pipe is full.
    List<String> command = new ArrayList<>(CliLauncher.command());
    command.addAll(List.of("-c", fleet.clientConfig().toString()));
    command.addAll(
        List.of(
            "cmd",
            "--follow",
            "-c",
            "0",
            "sh",
            "-c",
            "yes 0123456789012345678901234567890123456789012345678901234567890123456789"
                + " | head -c 100000000"));
    ProcessBuilder builder = new ProcessBuilder(command).directory(home.toFile());
    builder.environment().put("HOME", home.toString());
    builder.redirectError(home.resolve("stalled.err").toFile());
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process stalled = builder.start();
    Path err = home.resolve("stalled.err");
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .until(() -> Files.readString(err).matches("(?s)kueue: job \\d+\n.*"));
      String job = Files.readString(err).lines().findFirst().orElseThrow().substring(11);
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> fleet.kueue("show-job", job).out().contains("finished (0)"));
      assertThat(stalled.isAlive()).as("the follower is still stuck on its full pipe").isTrue();

      // Reading now: it skipped ahead to what is kept, said so, and ends with the job's code.
      byte[] all = stalled.getInputStream().readAllBytes();
      assertThat(stalled.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(stalled.exitValue()).isZero();
      assertThat(all.length).isLessThan(100_000_000);
      assertThat(Files.readString(err)).contains("skipped");
    } finally {
      stalled.destroyForcibly();
    }
  }
}
