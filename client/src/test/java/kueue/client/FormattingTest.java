package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import kueue.model.JobFilter;
import kueue.model.JobState;
import kueue.model.JobStats;
import org.junit.jupiter.api.Test;

class FormattingTest {
  @Test
  void aBatchWithHeldOrWaitingJobsCountsThemInColumnsOfTheirOwn() {
    var stats = new JobStats(5, 0, 0, 0, 0, 0, 0, null, null, 3, 2);
    var batch =
        new kueue.model.BatchSummary(
            12, "./sweep.sh", "/tmp", 12, 21, 10, java.time.Instant.now(), null, stats, null);

    List<String> lines = BatchTable.render(List.of(batch), 200, false);

    assertThat(lines.get(0)).containsPattern("pending +held +waiting +running");
    assertThat(lines.get(1)).containsPattern("12-21 +5 +3 +2 +0");
  }

  @Test
  void aJobThatWaitsAgainIsOnNoWorkerInTheTable() {
    List<String> lines =
        JobTable.render(
            List.of(Jobs.pending(1).withWorker("vm1"), Jobs.running(2).withWorker("vm2")),
            java.time.Instant.now(),
            200,
            false);

    assertThat(lines.get(1)).doesNotContain("vm1").containsPattern("pending +- ");
    assertThat(lines.get(2)).contains("vm2");
  }

  @Test
  void footerCountsEveryStateWithAverageAndEta() {
    JobStats stats = new JobStats(3, 0, 4, 120, 2, 0, 72.0, 170.0);

    assertThat(JobTable.footer(stats, false))
        .isEqualTo(
            "pending 3 · running 4 · succeeded 120 · failed 2 · canceled 0   avg 1m12s  ETA 3m");
  }

  @Test
  void footerCountsOfferedJobsOnlyWhenThereAreSome() {
    JobStats stats = new JobStats(0, 2, 0, 0, 0, 0, null, null);

    assertThat(JobTable.footer(stats, false))
        .isEqualTo(
            "pending 0 · offered 2 · running 0 · succeeded 0 · failed 0 · canceled 0   avg -  ETA"
                + " - (nothing runs)");
  }

  @Test
  void footerCountsTimedOutJobsOnlyWhenThereAreSome() {
    JobStats stats = new JobStats(0, 0, 0, 3, 1, 0, 2, 5.0, null);

    assertThat(JobTable.footer(stats, false))
        .isEqualTo(
            "pending 0 · running 0 · succeeded 3 · failed 1 · canceled 0 · timed out 2   avg 5s"
                + "  ETA -");
    assertThat(JobTable.matching(stats, List.of(JobFilter.TIMED_OUT))).isEqualTo(2);
    assertThat(JobTable.matching(stats, List.of())).isEqualTo(6);
  }

  @Test
  void aBatchEndingCountsTimedOutJobsAndExitsLikeItsFirstJobThatDidNotSucceed() {
    kueue.model.BatchSummary batch =
        new kueue.model.BatchSummary(
            12,
            "./sweep.sh",
            "/w",
            12,
            15,
            4,
            Jobs.SUBMITTED,
            Jobs.ENDED,
            new JobStats(0, 0, 0, 2, 0, 1, 1, 3.0, null),
            Jobs.timedOut(13));

    assertThat(BatchFormat.ending(batch))
        .isEqualTo(
            "batch 12: 2 of 4 jobs succeeded, 1 timed out, 1 canceled; first: job 13 timed out:"
                + " stopped at its time limit (SIGTERM)");
    assertThat(BatchFormat.exitCode(batch)).isEqualTo(124);
  }

  @Test
  void footerSaysWhyThereIsNoEta() {
    JobStats neverRunning = new JobStats(100_000, 0, 0, 5, 0, 0, 0.2, null);
    JobStats justStarted = new JobStats(10, 0, 2, 0, 0, 0, null, null);
    JobStats allDone = new JobStats(0, 0, 0, 5, 1, 0, 3.0, null);

    assertThat(JobTable.footer(neverRunning, false)).endsWith("avg 0s  ETA - (nothing runs)");
    assertThat(JobTable.footer(justStarted, false))
        .endsWith("avg -  ETA - (no job has run to its end yet)");
    assertThat(JobTable.footer(allDone, false)).endsWith("avg 3s  ETA -");
  }

  @Test
  void footerColoursOnlyNonZeroCounts() {
    JobStats stats = new JobStats(0, 0, 1, 0, 2, 0, null, null);

    assertThat(JobTable.footer(stats, true))
        .contains("pending 0")
        .contains("\u001b[34mrunning 1\u001b[0m")
        .contains("\u001b[31mfailed 2\u001b[0m")
        .contains("succeeded 0 ·");
  }

  @Test
  void matchingCountsTheSelectedStates() {
    JobStats stats = new JobStats(3, 1, 4, 120, 2, 5, null, null);

    assertThat(JobTable.matching(stats, List.of())).isEqualTo(135);
    assertThat(JobTable.matching(stats, List.of(JobFilter.RUNNING, JobFilter.FAILED))).isEqualTo(6);
  }

  @Test
  void durationsUseTwoUnitsAtMost() {
    assertThat(Durations.compact(Duration.ofSeconds(0))).isEqualTo("0s");
    assertThat(Durations.compact(Duration.ofSeconds(45))).isEqualTo("45s");
    assertThat(Durations.compact(Duration.ofSeconds(72))).isEqualTo("1m12s");
    assertThat(Durations.compact(Duration.ofSeconds(3600 * 2 + 5 * 60 + 9))).isEqualTo("2h05m");
    assertThat(Durations.compact(Duration.ofHours(76))).isEqualTo("3d04h");
    assertThat(Durations.compact(Duration.ofSeconds(-5))).isEqualTo("0s");
  }

  @Test
  void estimatesRoundUpToWholeMinutes() {
    assertThat(Durations.estimate(42)).isEqualTo("42s");
    assertThat(Durations.estimate(61)).isEqualTo("2m");
    assertThat(Durations.estimate(180)).isEqualTo("3m");
    assertThat(Durations.estimate(3599)).isEqualTo("1h00m");
    assertThat(Durations.estimate(7500)).isEqualTo("2h05m");
  }

  @Test
  void statusWordsFollowTheJobsState() {
    assertThat(JobFormat.status(Jobs.pending(1))).isEqualTo("pending");
    assertThat(JobFormat.status(Jobs.job(1, JobState.OFFERED, "w", null, null, null, null, null)))
        .isEqualTo("offered");
    assertThat(JobFormat.status(Jobs.running(1))).isEqualTo("running");
    assertThat(JobFormat.status(Jobs.finished(1, 0))).isEqualTo("finished (0)");
    assertThat(JobFormat.status(Jobs.finished(1, 3))).isEqualTo("failed (exit 3)");
    assertThat(JobFormat.status(Jobs.killed(1, 15))).isEqualTo("failed (SIGTERM)");
    assertThat(JobFormat.status(Jobs.killed(1, 64))).isEqualTo("failed (signal 64)");
    assertThat(JobFormat.status(Jobs.notStarted(1, "command not found: foo")))
        .isEqualTo("failed (command not found: foo)");
    assertThat(JobFormat.status(Jobs.notStarted(1, "working directory /very/long/path is missing")))
        .isEqualTo("failed (working directory /very…)");
    assertThat(JobFormat.status(Jobs.canceled(1))).isEqualTo("canceled");
  }

  @Test
  void waitExitCodesFollowTheShellsConventions() {
    assertThat(JobFormat.exitCode(Jobs.finished(1, 0))).isZero();
    assertThat(JobFormat.exitCode(Jobs.finished(1, 42))).isEqualTo(42);
    assertThat(JobFormat.exitCode(Jobs.killed(1, 9))).isEqualTo(137);
    assertThat(JobFormat.exitCode(Jobs.notStarted(1, "command not found: foo"))).isEqualTo(127);
    assertThat(JobFormat.exitCode(Jobs.canceled(1))).isEqualTo(130);
  }

  @Test
  void environmentLosesOnlyHostSpecificVariables() {
    Map<String, String> kept =
        EnvironmentFilter.forJob(
            Map.ofEntries(
                Map.entry("PATH", "/usr/bin"),
                Map.entry("HOME", "/home/ada"),
                Map.entry("LANG", "en_US.UTF-8"),
                Map.entry("VIRTUAL_ENV", "/home/ada/venv"),
                Map.entry("DISPLAY", ":0"),
                Map.entry("XAUTHORITY", "/home/ada/.Xauthority"),
                Map.entry("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"),
                Map.entry("SSH_CONNECTION", "10.0.0.1 5 10.0.0.2 22"),
                Map.entry("HOSTNAME", "laptop"),
                Map.entry("PWD", "/home/ada"),
                Map.entry("OLDPWD", "/tmp"),
                Map.entry("SHLVL", "2"),
                Map.entry("_", "/usr/bin/kueue"),
                Map.entry("TERM", "xterm-256color"),
                Map.entry("TERM_PROGRAM", "vscode"),
                Map.entry("XDG_SESSION_ID", "4"),
                Map.entry("XDG_RUNTIME_DIR", "/run/user/1000"),
                Map.entry("KUEUE_JOB_ID", "12")));

    assertThat(kept)
        .containsOnlyKeys("PATH", "HOME", "LANG", "VIRTUAL_ENV")
        .containsEntry("VIRTUAL_ENV", "/home/ada/venv");
  }

  private static final kueue.model.WorkerDevice A100 =
      new kueue.model.WorkerDevice(
          "gpus", 0, "GPU-1", "NVIDIA A100-SXM4-40GB", 40960, 4, 0, List.of(), null);

  private static kueue.model.WorkerSummary gpuWorker() {
    kueue.model.WorkerDevice busy =
        new kueue.model.WorkerDevice(
            "gpus",
            1,
            "GPU-2",
            "NVIDIA A100-SXM4-40GB",
            40960,
            10750,
            97,
            List.of(new kueue.model.DeviceProcess(4711, "alice", "python", 10750, null)),
            "used by another user: alice, pid 4711 (python)");
    kueue.model.WorkerDevice shared =
        new kueue.model.WorkerDevice(
            "gpus", 2, "GPU-3", "NVIDIA A100-SXM4-40GB", 40960, 20000, 55, List.of(), null);
    return new kueue.model.WorkerSummary(
        3,
        "ralab04",
        null,
        null,
        kueue.model.Resources.NONE,
        kueue.model.Resources.NONE,
        2,
        0.5,
        java.time.Instant.EPOCH,
        java.time.Instant.EPOCH,
        List.of(
            new kueue.model.DeviceState(A100, 0, List.of()),
            new kueue.model.DeviceState(busy, 0, List.of()),
            new kueue.model.DeviceState(shared, 0.5, List.of(12L)),
            new kueue.model.DeviceState(
                kueue.model.WorkerDevice.declared("fpga", 0), 1, List.of(14L))));
  }

  @Test
  void listWorkersShowsFreeOfAllGpusOnlyForAFleetWithGpus() {
    List<String> lines = WorkerFormat.render(List.of(gpuWorker()), 200, false);

    assertThat(lines.getFirst()).contains("GPUs free/total");
    assertThat(lines.get(1)).contains(" 1/3 ");
  }

  @Test
  void showWorkerTellsForEachDeviceWhoseItIs() {
    java.io.StringWriter text = new java.io.StringWriter();
    java.io.PrintWriter out = new java.io.PrintWriter(text);
    ShowWorkerCommand.printDevices(gpuWorker().devices(), out);
    out.flush();

    assertThat(text.toString().lines().toList())
        .containsExactly(
            "  GPU 0   NVIDIA A100-SXM4-40GB      4/40960 MiB   0%  free",
            "  GPU 1   NVIDIA A100-SXM4-40GB  10750/40960 MiB  97%  someone else's: used by"
                + " another user: alice, pid 4711 (python)",
            "  GPU 2   NVIDIA A100-SXM4-40GB  20000/40960 MiB  55%  Kueue: job 12 (0.5 taken)",
            "  fpga 0                                               Kueue: job 14");
  }

  private static kueue.model.WorkerSummary measuredWorker(String name, boolean measured) {
    kueue.model.WorkerSummary base = ReadingCommandsTest.WORKER;
    kueue.model.WorkerCapacity capacity =
        new kueue.model.WorkerCapacity(
            base.capacity().total(),
            0,
            40960,
            List.of(),
            measured ? new kueue.model.WorkerUsage(0.34, 1229, 4.1, 2400, 5) : null);
    return new kueue.model.WorkerSummary(
        base.id(),
        name,
        base.system(),
        capacity,
        base.reserved(),
        base.free(),
        base.runningJobs(),
        base.busyness(),
        base.connected(),
        base.lastSeen(),
        List.of());
  }

  @Test
  void listWorkersShowsKueuesPartOthersAndFreeWhereWorkersMeasure() {
    List<String> lines =
        WorkerFormat.render(
            List.of(measuredWorker("ralab04", true), measuredWorker("old", false)), 200, false);

    assertThat(lines.getFirst())
        .contains("  kueue  ", " others  ", "  free  ")
        .doesNotContain("RAM free/total");
    assertThat(lines.get(1)).contains(" 4c 2.0G ", " 0.3c 1.2G ", " 10c 38.0G ");
    assertThat(lines.get(2)).contains(" 4c 2.0G ", " - ", " 10c 38.0G ");
    assertThat(WorkerFormat.render(List.of(measuredWorker("ralab04", true)), 80, false))
        .allSatisfy(line -> assertThat(DisplayWidth.of(line)).isLessThanOrEqualTo(80))
        .first()
        .asString()
        .contains("kueue", "others", "free", "jobs", "busy");
  }

  @Test
  void showWorkerShowsKueuesUseAndOthersUseWhenMeasured() {
    java.io.StringWriter text = new java.io.StringWriter();
    java.io.PrintWriter out = new java.io.PrintWriter(text);
    ShowWorkerCommand.print(
        measuredWorker("ralab04", true), java.time.Instant.parse("2026-11-25T10:00:00Z"), out);
    out.flush();

    assertThat(text.toString())
        .contains(
            "  reserved:       2 slots, 4 CPUs, 2048 MB RAM\n",
            "  used by Kueue:  4.1 CPUs, 2400 MB RAM (the worker and its jobs, over the last 5"
                + " s)\n",
            "  used by others: 0.3 CPUs, 1229 MB RAM (other programs, over the last 5 s)\n",
            "  free:           8 slots, 10 CPUs, 38912 MB RAM\n");
  }
}
