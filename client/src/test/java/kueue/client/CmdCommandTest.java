package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CmdCommandTest {
  @TempDir Path home;
  private CliHarness cli;
  private ScriptedServer server;
  private volatile JobSummary endedJob = Jobs.finished(7, 0);

  @BeforeEach
  void startServer() throws Exception {
    server =
        new ScriptedServer(
            CliHarness.SECRET,
            request ->
                switch (request) {
                  case Message.Submit submit -> new Message.Submitted(List.of(7L));
                  case Message.SubmitBatch batch ->
                      new Message.BatchSubmitted(7, List.of(7L, 8L, 9L));
                  case Message.ShowJob show ->
                      new Message.JobDetails(
                          new kueue.model.JobDetail(
                              Jobs.canceled(show.id()).withNote("dependency on job 3 failed"),
                              null,
                              0,
                              List.of(),
                              null,
                              null));
                  case Message.WaitJobs wait when endedJob == null -> null;
                  case Message.WaitJobs wait -> new Message.JobsEnded(List.of(endedJob));
                  default -> new Message.Failure("bad_request", "unexpected");
                });
    cli = new CliHarness(home).pointingAt(server.port());
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  @Test
  void aJobOrBatchCanceledAtOnceForAFailedDependencySaysSo() {
    CliHarness.Result job = cli.run("cmd", "--after", "3", "true");
    CliHarness.Result batch = cli.run("cmd", "--array", "1-3", "--after", "3", "true");
    CliHarness.Result plain = cli.run("cmd", "true");

    assertThat(job.exitCode()).isZero();
    assertThat(job.out()).isEqualTo("7\n");
    assertThat(job.err())
        .isEqualTo("kueue: job 7 was canceled at once: dependency on job 3 failed\n");
    assertThat(batch.exitCode()).isZero();
    assertThat(batch.err())
        .isEqualTo(
            "kueue: the 3 jobs of batch 7 were canceled at once: dependency on job 3 failed\n");
    // Without dependencies nothing is asked after the submission.
    assertThat(plain.err()).isEmpty();
    assertThat(server.requests().stream().filter(Message.ShowJob.class::isInstance).count())
        .isEqualTo(2);
  }

  private JobSpec submitted() {
    Message.Submit submit = (Message.Submit) server.requests().getFirst();
    assertThat(submit.jobs()).hasSize(1);
    return submit.jobs().getFirst();
  }

  @Test
  void printsTheJobIdAloneOnStdout() {
    CliHarness.Result result = cli.run("cmd", "echo", "hello");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualTo("7\n");
    assertThat(result.err()).isEmpty();
    assertThat(submitted().argv()).containsExactly("echo", "hello");
  }

  @Test
  void givesEverythingAfterTheProgramToTheJobIncludingItsOptions() {
    CliHarness.Result result =
        cli.run("cmd", "-c", "2", "python", "-c", "print(1)", "--wait", "-h", "--json");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualTo("7\n");
    JobSpec job = submitted();
    assertThat(job.argv()).containsExactly("python", "-c", "print(1)", "--wait", "-h", "--json");
    assertThat(job.cpus()).isEqualTo(2);
    assertThat(server.requests()).hasSize(1);
  }

  @Test
  void takesAnArgumentAfterDoubleDashAsTheProgramEvenIfItLooksLikeAnOption() {
    cli.run("cmd", "--", "-weird-name", "x");

    assertThat(submitted().argv()).containsExactly("-weird-name", "x");
  }

  @Test
  void takesCpusAndRamFromTheClientSectionUnlessGiven() throws Exception {
    cli.pointingAt(
        server.port(),
        CliHarness.SECRET,
        "[client]\njob_default_cpus = 3\njob_default_ram_mb = 2048\n");

    cli.run("cmd", "true");
    cli.run("cmd", "-r", "512", "-j", "2", "true");

    Message.Submit first = (Message.Submit) server.requests().get(0);
    Message.Submit second = (Message.Submit) server.requests().get(1);
    assertThat(first.jobs().getFirst().demand()).isEqualTo(new kueue.model.Resources(1, 3, 2048));
    assertThat(second.jobs().getFirst().demand()).isEqualTo(new kueue.model.Resources(2, 3, 512));
  }

  @Test
  void sendsTheTimeLimitAndRetriesInSeconds() {
    cli.run("cmd", "-t", "1h30m", "--retries", "3", "--retry-delay", "00:01:00", "./train");
    JobSpec job = submitted();

    assertThat(job.timeLimitSeconds()).isEqualTo(5400);
    assertThat(job.retries()).isEqualTo(3);
    assertThat(job.retryDelaySeconds()).isEqualTo(60);
  }

  @Test
  void takesTheTimeLimitFromTheClientSectionUnlessGiven() throws Exception {
    cli.pointingAt(
        server.port(), CliHarness.SECRET, "[client]\njob_default_time_limit = \"1-00:00:00\"\n");

    cli.run("cmd", "true");
    cli.run("cmd", "--time", "90s", "true");

    Message.Submit first = (Message.Submit) server.requests().get(0);
    Message.Submit second = (Message.Submit) server.requests().get(1);
    assertThat(first.jobs().getFirst().timeLimitSeconds()).isEqualTo(86_400);
    assertThat(second.jobs().getFirst().timeLimitSeconds()).isEqualTo(90);
  }

  @Test
  void rejectsAMalformedDurationOrADelayWithoutRetriesBeforeConnecting() {
    CliHarness.Result bare = cli.run("cmd", "--time", "10", "true");
    CliHarness.Result delay = cli.run("cmd", "--retry-delay", "5s", "true");
    CliHarness.Result negative = cli.run("cmd", "--retries", "-1", "true");

    assertThat(bare.exitCode()).isEqualTo(2);
    assertThat(bare.err()).contains("--time: '10' is not a duration (e.g. 90s, 30m");
    assertThat(delay.exitCode()).isEqualTo(2);
    assertThat(delay.err()).contains("--retry-delay needs --retries N");
    assertThat(negative.exitCode()).isEqualTo(2);
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void withWaitExits124WhenTheJobTimedOut() {
    endedJob = Jobs.timedOut(7);

    CliHarness.Result result = cli.run("cmd", "--wait", "-t", "2s", "sleep", "600");

    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(result.err()).contains("job 7 timed out");
  }

  @Test
  void sendsGlobalResourcesWithOneAsTheDefaultCount() {
    cli.run("cmd", "--resource", "genus", "--resource", "matlab=2", "./solve");

    assertThat(submitted().globalResources())
        .containsOnly(Map.entry("genus", 1), Map.entry("matlab", 2));
  }

  @Test
  void sendsGpusGpuMemoryAndWorkerResources() {
    cli.run("cmd", "-g", "2", "--gpu-ram-mb", "20000", "--worker-resource", "fpga=1", "./train");
    assertThat(submitted().workerResources())
        .containsOnly(Map.entry("gpus", 2.0), Map.entry("fpga", 1.0));
    assertThat(submitted().gpuRamMb()).isEqualTo(20000);
  }

  @Test
  void sendsAShareOfAGpu() {
    cli.run("cmd", "--gpus", "0.25", "./small");

    assertThat(submitted().workerResources()).containsOnly(Map.entry("gpus", 0.25));
  }

  @Test
  void rejectsGpuAmountsThatCannotBeGivenBeforeConnecting() {
    CliHarness.Result oneAndAHalf = cli.run("cmd", "--gpus", "1.5", "./train");
    CliHarness.Result zero = cli.run("cmd", "--gpus", "0", "./train");
    CliHarness.Result word = cli.run("cmd", "--gpus", "all", "./train");
    CliHarness.Result memoryAlone = cli.run("cmd", "--gpu-ram-mb", "100", "./train");
    CliHarness.Result gpusAsResource = cli.run("cmd", "--worker-resource", "gpus=1", "./train");

    assertThat(oneAndAHalf.err()).contains("above 1 only whole devices can be asked for");
    assertThat(zero.err()).contains("must be asked for more than 0");
    assertThat(word.err()).contains("--gpus expects a number");
    assertThat(memoryAlone.err()).contains("--gpu-ram-mb needs --gpus");
    assertThat(gpusAsResource.err()).contains("ask for GPUs with --gpus N");
    assertThat(List.of(oneAndAHalf, zero, word, memoryAlone, gpusAsResource))
        .extracting(CliHarness.Result::exitCode)
        .containsOnly(2);
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void rejectsAMalformedResourceBeforeConnecting() {
    CliHarness.Result zero = cli.run("cmd", "--resource", "genus=0", "./solve");
    CliHarness.Result twice = cli.run("cmd", "--resource", "a", "--resource", "a=2", "./solve");

    assertThat(zero.exitCode()).isEqualTo(2);
    assertThat(zero.err()).startsWith("kueue cmd: --resource genus: N must be a whole number");
    assertThat(twice.exitCode()).isEqualTo(2);
    assertThat(twice.err()).contains("--resource a is given twice");
    assertThat(server.requests()).isEmpty();
  }

  @Test
  void rejectsZeroJobSlots() {
    CliHarness.Result result = cli.run("cmd", "-j", "0", "true");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("--job-slots must be at least 1");
  }

  @Test
  void passesOutputTargetsAsGiven() {
    cli.run("cmd", "-o", "null", "-e", "logs/err.txt", "./noisy");

    assertThat(submitted().stdout()).isEqualTo("null");
    assertThat(submitted().stderr()).isEqualTo("logs/err.txt");
  }

  @Test
  void capturesOutputWhenNoTargetIsGiven() {
    cli.run("cmd", "./noisy");

    assertThat(submitted().stdout()).isNull();
    assertThat(submitted().stderr()).isNull();
  }

  @Test
  void sendsTheEnvironmentWithoutHostSpecificVariables() {
    cli.env.putAll(
        Map.of(
            "PATH", "/usr/bin:/bin",
            "MY_SETTING", "42",
            "DISPLAY", ":0",
            "SSH_AUTH_SOCK", "/tmp/agent",
            "HOSTNAME", "laptop",
            "PWD", "/somewhere",
            "KUEUE_JOB_ID", "3"));

    cli.run("cmd", "env");

    assertThat(submitted().env())
        .containsEntry("PATH", "/usr/bin:/bin")
        .containsEntry("MY_SETTING", "42")
        .doesNotContainKeys(
            "DISPLAY", "SSH_AUTH_SOCK", "HOSTNAME", "PWD", "KUEUE_JOB_ID", "COLUMNS", "LINES");
  }

  @Test
  void sendsNoEnvironmentWithNoEnv() {
    cli.run("cmd", "--no-env", "env");

    assertThat(submitted().env()).isNull();
  }

  @Test
  void submitsFromTheCanonicalWorkingDirectory() throws Exception {
    Path real = Files.createDirectories(home.resolve("real/dir"));
    Path link = Files.createSymbolicLink(home.resolve("link"), real);
    cli.cwd = link;

    cli.run("cmd", "true");

    assertThat(submitted().cwd()).isEqualTo(real.toRealPath().toString());
  }

  @Test
  void printsTheIdsAsJsonWithJson() throws Exception {
    CliHarness.Result result = cli.run("cmd", "--json", "true");

    assertThat(result.exitCode()).isZero();
    var json = MessageCodec.mapper().readTree(result.out());
    assertThat(json.properties()).extracting(Map.Entry::getKey).containsExactly("ids");
    assertThat(json.get("ids").get(0).asLong()).isEqualTo(7);
  }

  @Test
  void withWaitExitsWithTheJobsExitCodeAndSaysHowItEnded() {
    endedJob = Jobs.finished(7, 3);

    CliHarness.Result result = cli.run("cmd", "--wait", "make", "test");

    assertThat(result.out()).isEqualTo("7\n");
    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.err()).isEqualTo("job 7 failed with exit code 3\n");
    assertThat(server.requests().get(1)).isEqualTo(new Message.WaitJobs(List.of(7L), true));
  }

  @Test
  void withWaitExitsWithZeroWhenTheJobSucceeded() {
    CliHarness.Result result = cli.run("cmd", "-w", "true");

    assertThat(result.exitCode()).isZero();
    assertThat(result.err()).isEqualTo("job 7 finished with exit code 0\n");
  }

  @Test
  void withWaitExits127WhenTheJobCouldNotStart() {
    endedJob = Jobs.notStarted(7, "command not found: foo");

    CliHarness.Result result = cli.run("cmd", "--wait", "foo");

    assertThat(result.exitCode()).isEqualTo(127);
    assertThat(result.err()).isEqualTo("job 7 failed: command not found: foo\n");
  }

  @Test
  void withWaitExits128PlusTheSignalWhenTheJobWasKilled() {
    endedJob = Jobs.killed(7, 9);

    CliHarness.Result result = cli.run("cmd", "--wait", "sleep", "100");

    assertThat(result.exitCode()).isEqualTo(137);
    assertThat(result.err()).isEqualTo("job 7 was killed by SIGKILL (signal 9)\n");
  }

  @Test
  void withWaitExits130WhenTheJobWasCanceled() {
    endedJob = Jobs.canceled(7);

    CliHarness.Result result = cli.run("cmd", "--wait", "sleep", "100");

    assertThat(result.exitCode()).isEqualTo(130);
    assertThat(result.err()).isEqualTo("job 7 was canceled\n");
  }

  @Test
  void withWaitAndNoPatienceTellsHowToWaitAgainWhenTheServerGoesAway() throws Exception {
    endedJob = null;
    cli.pointingAt(server.port(), CliHarness.SECRET, "[client]\nserver_restart_wait_seconds = 0\n");

    CliHarness.Result result = cli.run("cmd", "--wait", "sleep", "100");

    assertThat(result.out()).isEqualTo("7\n");
    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.err())
        .startsWith("kueue: lost the connection to the Kueue server")
        .endsWith(
            "; the job is stored and may still be running, wait again with: kueue wait-job 7\n");
  }

  @Test
  void withWaitTriesAgainWhileTheServerIsAwayThenSaysTheJobMayStillRun() throws Exception {
    endedJob = null;
    cli.pointingAt(server.port(), CliHarness.SECRET, "[client]\nserver_restart_wait_seconds = 1\n");

    CliHarness.Result result = cli.run("cmd", "--wait", "sleep", "100");

    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.err())
        .containsPattern("(?m)^kueue: lost the connection to the Kueue server at .*; trying again")
        .contains("trying again for up to 1s (the jobs go on meanwhile)")
        .containsPattern("(?m)^kueue: the Kueue server did not come back within 1s")
        .doesNotContain("kueue: kueue:")
        .endsWith(
            "; the job is stored and may still be running, wait again with: kueue wait-job 7\n");
    assertThat(server.requests().stream().filter(Message.WaitJobs.class::isInstance).count())
        .as("asked again on new connections")
        .isGreaterThan(1);
    assertThat(server.requests().stream().filter(Message.Submit.class::isInstance).count())
        .isEqualTo(1);
  }

  @Test
  void everySubmissionCarriesAKeyOfItsOwn() {
    cli.run("cmd", "true");
    cli.run("cmd", "true");

    List<String> keys =
        server.requests().stream()
            .map(request -> ((Message.Submit) request).jobs().getFirst().submissionKey())
            .toList();
    assertThat(keys).hasSize(2).doesNotHaveDuplicates().allMatch(key -> key.length() == 32);
  }
}
