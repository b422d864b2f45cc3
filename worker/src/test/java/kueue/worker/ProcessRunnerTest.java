package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.model.AttemptRef;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProcessRunnerTest {
  static final AttemptRef ATTEMPT = new AttemptRef(42, 1);
  private static final Duration SHORT_GRACE = Duration.ofMillis(300);

  @TempDir Path dir;

  final ProcessRunner runner = newRunner(SHORT_GRACE);
  final List<Long> leftoverPids = new ArrayList<>();

  /**
   * The runner under test; {@link ProcessBuilderRunnerTest} runs every test without posix_spawn.
   */
  ProcessRunner newRunner(Duration killGrace) {
    return new ProcessRunner("test-worker", 64 * 1024, killGrace);
  }

  @AfterEach
  void killLeftovers() {
    for (long pid : leftoverPids) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  /**
   * Whether a process has ended: gone, or a zombie. Once a test in this JVM made it a subreaper (as
   * the worker is), the grandchildren of a job are handed to it when the job ends, and nothing here
   * collects them; {@link ProcessHandle#isAlive} counts those zombies as alive.
   */
  static boolean ended(ProcessHandle process) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException e) {
      return true;
    }
  }

  static JobResult resultOf(RunningJob job) throws Exception {
    return job.result().get(20, TimeUnit.SECONDS);
  }

  private JobResult run(JobSpec spec) throws Exception {
    return resultOf(runner.start(ATTEMPT, spec));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7})
  void theExitCodeOfTheProgramIsReported(int code) throws Exception {
    JobResult result = run(Jobs.command(dir, "sh", "-c", "exit " + code));

    assertThat(result.outcome().exitCode()).isEqualTo(code);
    assertThat(result.outcome().signal()).isNull();
    assertThat(result.outcome().failure()).isNull();
    assertThat(result.outcome().succeeded()).isEqualTo(code == 0);
  }

  @Test
  void startAndEndTimesAreReported() throws Exception {
    JobOutcome outcome = run(Jobs.command(dir, "true")).outcome();

    assertThat(outcome.started()).isNotNull();
    assertThat(outcome.ended()).isAfterOrEqualTo(outcome.started());
  }

  @Test
  void argumentsArriveVerbatimWithoutAShell() throws Exception {
    JobResult result = run(Jobs.command(dir, "printf", "[%s]\\n", "two words", "$HOME", "*"));

    assertThat(result.stdout().text()).isEqualTo("[two words]\n[$HOME]\n[*]\n");
  }

  @Test
  void theJobRunsInItsWorkingDirectory() throws Exception {
    JobResult result = run(Jobs.command(dir, "pwd", "-P"));

    assertThat(result.stdout().text().strip()).isEqualTo(dir.toRealPath().toString());
  }

  @Test
  void stdinIsEmpty() throws Exception {
    JobResult result = run(Jobs.command(dir, "wc", "-c"));

    assertThat(result.outcome().exitCode()).isZero();
    assertThat(result.stdout().text().strip()).isEqualTo("0");
  }

  @Test
  void theSpecEnvironmentIsUsedPlusTheKueueVariables() throws Exception {
    JobSpec spec =
        Jobs.withEnv(
            Jobs.command(dir, "env"),
            Map.of("PATH", System.getenv("PATH"), "GREETING", "hello world"));

    List<String> variables = run(spec).stdout().text().lines().toList();

    assertThat(variables)
        .contains("GREETING=hello world", "KUEUE_JOB_ID=42", "KUEUE_WORKER=test-worker")
        .noneMatch(line -> line.startsWith("HOME="));
  }

  @Test
  void aBatchJobGetsItsBatchIdAndArrayIndexInTheEnvironment() throws Exception {
    JobSpec spec = Jobs.command(dir, "env");
    JobSpec inBatch = spec.forJob(42, spec.argv(), 40L, 7L);

    List<String> variables = run(inBatch).stdout().text().lines().toList();

    assertThat(variables).contains("KUEUE_ARRAY_ID=40", "KUEUE_ARRAY_INDEX=7");
  }

  @Test
  void aJobOutsideABatchHasNoArrayVariablesEvenIfItsSubmitterHad() throws Exception {
    JobSpec spec =
        Jobs.withEnv(
            Jobs.command(dir, "env"),
            Map.of("PATH", System.getenv("PATH"), "KUEUE_ARRAY_INDEX", "3", "KUEUE_ARRAY_ID", "1"));

    List<String> variables = run(spec).stdout().text().lines().toList();

    assertThat(variables).noneMatch(line -> line.startsWith("KUEUE_ARRAY_"));
  }

  @Test
  void theDeviceVariablesReplaceThoseOfTheSubmitter() throws Exception {
    JobSpec spec =
        Jobs.withEnv(
            Jobs.command(dir, "env"),
            Map.of("PATH", System.getenv("PATH"), "CUDA_VISIBLE_DEVICES", "0,1,2,3"));

    List<String> variables =
        resultOf(runner.start(ATTEMPT, spec, List.of("CUDA_VISIBLE_DEVICES=2", "KUEUE_GPUS=1")))
            .stdout()
            .text()
            .lines()
            .toList();
    List<String> hidden =
        resultOf(runner.start(ATTEMPT, spec, List.of("CUDA_VISIBLE_DEVICES=")))
            .stdout()
            .text()
            .lines()
            .toList();

    assertThat(variables.stream().filter(line -> line.startsWith("CUDA_VISIBLE_DEVICES=")))
        .containsExactly("CUDA_VISIBLE_DEVICES=2");
    assertThat(variables).contains("KUEUE_GPUS=1");
    assertThat(hidden.stream().filter(line -> line.startsWith("CUDA_VISIBLE_DEVICES=")))
        .containsExactly("CUDA_VISIBLE_DEVICES=");
  }

  @Test
  void withoutASpecEnvironmentTheWorkersOwnIsUsed() throws Exception {
    List<String> variables = run(Jobs.command(dir, "env")).stdout().text().lines().toList();

    assertThat(variables)
        .contains("HOME=" + System.getenv("HOME"), "KUEUE_JOB_ID=42", "KUEUE_WORKER=test-worker");
  }

  @Test
  void capturedOutputKeepsTheTailAndCountsWhatWasDropped() throws Exception {
    int total = 5_000_000;
    JobSpec spec =
        Jobs.command(dir, "sh", "-c", "head -c " + total + " /dev/zero | tr '\\0' a; printf END");

    JobResult result = run(spec);

    assertThat(result.stdout().text()).hasSize(64 * 1024).endsWith("aaaEND");
    assertThat(result.stdout().droppedBytes()).isEqualTo(total + 3 - 64 * 1024);
    assertThat(result.stdout().truncated()).isTrue();
  }

  @Test
  void stdoutAndStderrAreCapturedSeparately() throws Exception {
    JobResult result = run(Jobs.command(dir, "sh", "-c", "echo out; echo err >&2"));

    assertThat(result.stdout().text()).isEqualTo("out\n");
    assertThat(result.stderr().text()).isEqualTo("err\n");
    assertThat(result.stdout().truncated()).isFalse();
  }

  @Test
  void outputGoesToFilesRelativeToTheWorkingDirectory() throws Exception {
    Files.writeString(dir.resolve("out.txt"), "old content that must be truncated\n");
    JobSpec spec =
        Jobs.withOutput(
            Jobs.command(dir, "sh", "-c", "echo out; echo err >&2"), "out.txt", dir + "/err.txt");

    JobResult result = run(spec);

    assertThat(dir.resolve("out.txt")).hasContent("out");
    assertThat(dir.resolve("err.txt")).hasContent("err");
    // The end of each file is kept with the ended attempt, for kueue log and show-job.
    assertThat(result.stdout().text()).isEqualTo("out\n");
    assertThat(result.stderr().text()).isEqualTo("err\n");
  }

  @Test
  void stdoutAndStderrToTheSameFileKeepBothStreams() throws Exception {
    JobSpec spec =
        Jobs.withOutput(
            Jobs.command(dir, "sh", "-c", "echo one; echo two >&2; echo three"), "log", "./log");

    run(spec);

    assertThat(Files.readAllLines(dir.resolve("log"))).containsExactly("one", "two", "three");
  }

  @Test
  void theNullTargetDiscardsAStream() throws Exception {
    JobSpec spec =
        Jobs.withOutput(Jobs.command(dir, "sh", "-c", "echo out; echo err >&2"), "null", null);

    JobResult result = run(spec);

    assertThat(result.stdout().text()).isEmpty();
    assertThat(result.stderr().text()).isEqualTo("err\n");
    assertThat(dir.resolve("null")).doesNotExist();
  }

  @Test
  void anOutputFileThatCannotBeOpenedFailsTheStart() throws Exception {
    JobSpec spec = Jobs.withOutput(Jobs.command(dir, "true"), "missing/out.txt", null);

    JobOutcome outcome = run(spec).outcome();

    assertThat(outcome.failure())
        .isEqualTo(
            "cannot open stdout file "
                + dir.resolve("missing/out.txt")
                + ": no such file or directory");
    assertThat(outcome.exitCode()).isNull();
    assertThat(outcome.started()).isNull();
  }

  @ParameterizedTest
  @ValueSource(ints = {077, 0, 022})
  void theJobAndItsOutputFilesGetTheSubmittersUmask(int umask) throws Exception {
    JobSpec spec =
        Jobs.withOutput(Jobs.command(dir, "sh", "-c", "umask; echo x > made.txt"), "out.txt", null)
            .withUmask(umask);

    JobResult result = run(spec);

    assertThat(result.outcome().exitCode()).isZero();
    String expected = PosixFilePermissions.toString(FileModes.permissions(0666 & ~umask));
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("made.txt"))))
        .isEqualTo(expected);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("out.txt"))))
        .isEqualTo(expected);
    assertThat(Files.readString(dir.resolve("out.txt")).strip())
        .isEqualTo(String.format("%04o", umask));
  }

  @Test
  void aJobThatAsksForTheWorkersOwnUmaskStartsItsProgramDirectly() throws Exception {
    JobSpec spec =
        Jobs.command(dir, "sh", "-c", "cat /proc/$$/cmdline | tr '\\0' ' '")
            .withUmask(FileModes.processUmask());

    JobResult result = run(spec);

    assertThat(result.stdout().text()).doesNotContain("kueue-job");
  }

  @Test
  void anOutputPathThatIsASymbolicLinkIsRefusedAndItsTargetLeftAlone() throws Exception {
    Path secret = dir.resolve("secret");
    Files.writeString(secret, "keep me\n");
    Files.createSymbolicLink(dir.resolve("out.txt"), secret);
    JobSpec spec = Jobs.withOutput(Jobs.command(dir, "echo", "overwritten"), "out.txt", null);

    JobOutcome outcome = run(spec).outcome();

    assertThat(outcome.failure())
        .isEqualTo(
            "refusing to write stdout to " + dir.resolve("out.txt") + ": it is a symbolic link");
    assertThat(outcome.started()).isNull();
    assertThat(secret).hasContent("keep me");
  }

  @Test
  void anOutputPathThatIsNotARegularFileIsRefused() throws Exception {
    Files.createDirectory(dir.resolve("out"));
    JobSpec spec = Jobs.withOutput(Jobs.command(dir, "true"), null, "out");

    JobOutcome outcome = run(spec).outcome();

    assertThat(outcome.failure())
        .isEqualTo(
            "refusing to write stderr to " + dir.resolve("out") + ": it is not a regular file");
  }

  @Test
  void aProgramThatDoesNotExistEndsAtOnceAsCommandNotFound() {
    RunningJob job = runner.start(ATTEMPT, Jobs.command(dir, "no-such-program-kueue", "arg"));

    assertThat(job.hasEnded()).isTrue();
    JobOutcome outcome = job.result().join().outcome();
    assertThat(outcome.failure()).isEqualTo("command not found: no-such-program-kueue");
    assertThat(outcome.exitCode()).isNull();
    assertThat(outcome.shellExitCode()).isEqualTo(127);
  }

  @Test
  void aProgramIsLookedUpInTheJobsPath() throws Exception {
    Path bin = Files.createDirectory(dir.resolve("bin"));
    Path tool = bin.resolve("my-tool");
    Files.writeString(tool, "#!/bin/sh\necho tool ran\n");
    Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwx------"));
    JobSpec spec =
        Jobs.withEnv(Jobs.command(dir, "my-tool"), Map.of("PATH", bin + ":/usr/bin:/bin"));

    assertThat(run(spec).stdout().text()).isEqualTo("tool ran\n");
    assertThat(run(Jobs.command(dir, "my-tool")).outcome().failure())
        .isEqualTo("command not found: my-tool");
  }

  @Test
  void aRelativeProgramIsResolvedAgainstTheWorkingDirectory() throws Exception {
    Path script = dir.resolve("run.sh");
    Files.writeString(script, "#!/bin/sh\necho script ran\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));

    assertThat(run(Jobs.command(dir, "./run.sh")).stdout().text()).isEqualTo("script ran\n");
  }

  @Test
  void aProgramWithoutExecutePermissionFailsAsPermissionDenied() throws Exception {
    Path script = dir.resolve("run.sh");
    Files.writeString(script, "#!/bin/sh\necho script ran\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-------"));

    JobOutcome outcome = run(Jobs.command(dir, "./run.sh")).outcome();

    assertThat(outcome.failure()).isEqualTo("permission denied: ./run.sh");
    assertThat(outcome.exitCode()).isNull();
  }

  @Test
  void aMissingWorkingDirectoryFailsTheStart() throws Exception {
    JobOutcome outcome = run(Jobs.command(dir.resolve("gone"), "true")).outcome();

    assertThat(outcome.failure())
        .isEqualTo("working directory " + dir.resolve("gone") + " does not exist");
  }

  @Test
  void eachJobLeadsAProcessGroupOfItsOwn() throws Exception {
    RunningJob job = runner.start(ATTEMPT, Jobs.command(dir, "sleep", "1000"));
    leftoverPids.add(job.pid());

    assertThat(processGroupOf(job.pid())).isEqualTo(job.pid());
    assertThat(processGroupOf(ProcessHandle.current().pid())).isNotEqualTo(job.pid());
    job.kill();
    resultOf(job);
  }

  @Test
  void killEndsTheWholeProcessTreeWithTerm() throws Exception {
    RunningJob job =
        runner.start(ATTEMPT, Jobs.command(dir, "sh", "-c", "sleep 1000 & sleep 1000"));
    leftoverPids.add(job.pid());
    ProcessHandle shell = ProcessHandle.of(job.pid()).orElseThrow();
    await().atMost(Duration.ofSeconds(10)).until(() -> shell.children().count() == 2);
    List<ProcessHandle> sleeps = shell.children().toList();
    sleeps.forEach(sleep -> leftoverPids.add(sleep.pid()));

    job.kill();
    JobOutcome outcome = resultOf(job).outcome();

    assertThat(outcome.signal()).isEqualTo(15);
    assertThat(outcome.exitCode()).isNull();
    assertThat(outcome.shellExitCode()).isEqualTo(143);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> sleeps.stream().allMatch(ProcessRunnerTest::ended));
  }

  @Test
  void aJobThatIgnoresTermIsKilledAfterTheGracePeriod() throws Exception {
    Path ready = dir.resolve("ready");
    RunningJob job =
        runner.start(
            ATTEMPT, Jobs.command(dir, "sh", "-c", "trap '' TERM; touch ready; sleep 1000 & wait"));
    leftoverPids.add(job.pid());
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(ready));
    List<ProcessHandle> children = awaitChildren(job.pid(), 1);

    long killedAt = System.nanoTime();
    job.kill();
    JobOutcome outcome = resultOf(job).outcome();

    assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isGreaterThanOrEqualTo(SHORT_GRACE);
    assertThat(outcome.signal()).isEqualTo(9);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> children.stream().allMatch(ProcessRunnerTest::ended));
  }

  @Test
  void aBackgroundChildHoldingTheOutputOpenDoesNotHoldBackTheResult() throws Exception {
    RunningJob job =
        runner.start(ATTEMPT, Jobs.command(dir, "sh", "-c", "sleep 1000 & echo $!; echo done"));

    JobResult result = resultOf(job);
    List<String> lines = result.stdout().text().lines().toList();
    leftoverPids.add(Long.parseLong(lines.getFirst()));

    assertThat(lines).containsExactly(lines.getFirst(), "done");
    assertThat(result.outcome().exitCode()).isZero();
  }

  @Test
  void aNonZeroExitAboveOneHundredTwentyEightIsKeptAsAnExitCode() throws Exception {
    JobOutcome outcome = run(Jobs.command(dir, "sh", "-c", "exit 143")).outcome();

    assertThat(outcome.exitCode()).isEqualTo(143);
    assertThat(outcome.signal()).isNull();
  }

  @Test
  void aJobThatEndsWhileItsStarterWatchesIsReportedToTheStarter() throws Exception {
    RunningJob job =
        runner.startToWatch(
            ATTEMPT, Jobs.command(dir, "sh", "-c", "echo out; echo err >&2; exit 4"));

    JobResult result = job.watchFor(Duration.ofSeconds(20));

    assertThat(result).isNotNull();
    assertThat(job.hasEnded()).isTrue();
    assertThat(result.outcome().exitCode()).isEqualTo(4);
    assertThat(result.stdout().text()).isEqualTo("out\n");
    assertThat(result.stderr().text()).isEqualTo("err\n");
    assertThat(resultOf(job)).isEqualTo(result);
  }

  @Test
  void aJobStillRunningAfterItsStartersWatchIsWatchedToItsEnd() throws Exception {
    Path gate = dir.resolve("gate");
    assertThat(new ProcessBuilder("mkfifo", gate.toString()).start().waitFor()).isZero();
    RunningJob job =
        runner.startToWatch(
            ATTEMPT,
            Jobs.command(
                dir,
                "sh",
                "-c",
                "echo before; read line < gate; echo \"after $line\"; echo err >&2; exit 3"));

    assertThat(job.watchFor(Duration.ofMillis(50))).isNull();
    assertThat(job.hasEnded()).isFalse();
    Files.writeString(gate, "opened\n");
    JobResult result = resultOf(job);

    assertThat(result.outcome().exitCode()).isEqualTo(3);
    assertThat(result.stdout().text()).isEqualTo("before\nafter opened\n");
    assertThat(result.stderr().text()).isEqualTo("err\n");
  }

  @Test
  void noWatchByTheStarterHandsTheJobOverAtOnce() throws Exception {
    // Long enough to be running still when watchFor returns, however slow the start was.
    RunningJob job =
        runner.startToWatch(ATTEMPT, Jobs.command(dir, "sh", "-c", "sleep 0.5; echo done"));

    assertThat(job.watchFor(Duration.ZERO)).isNull();

    assertThat(resultOf(job).stdout().text()).isEqualTo("done\n");
  }

  private static List<ProcessHandle> awaitChildren(long pid, int count) {
    ProcessHandle parent = ProcessHandle.of(pid).orElseThrow();
    await().atMost(Duration.ofSeconds(10)).until(() -> parent.children().count() >= count);
    return parent.children().toList();
  }

  static long processGroupOf(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] afterName = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Long.parseLong(afterName[2]);
  }
}
