package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import kueue.model.BatchEntry;
import kueue.model.BatchSummary;
import kueue.model.CapturedOutput;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchCommandsTest {
  private static final JobStats STATS = new JobStats(3, 0, 4, 120, 2, 0, 72.0, 180.0);

  @TempDir Path home;
  private CliHarness cli;
  private ScriptedServer server;
  private volatile BatchSummary waited = batch(12, 0, 0, 0, 5, 0, 0, null);
  private volatile Message.BatchRemoved removed;

  static JobSummary inBatch(JobSummary job, long batch, long index) {
    return JobSummaryBuilder.builder()
        .id(job.id())
        .state(job.state())
        .command(job.command())
        .cwd(job.cwd())
        .slots(job.slots())
        .cpus(job.cpus())
        .ramMb(job.ramMb())
        .attempt(job.attempt())
        .worker(job.worker())
        .submitted(job.submitted())
        .started(job.started())
        .ended(job.ended())
        .exitCode(job.exitCode())
        .signal(job.signal())
        .note(job.note())
        .batch(batch)
        .arrayIndex(index)
        .build();
  }

  static BatchSummary batch(
      long id,
      long pending,
      long offered,
      long running,
      long succeeded,
      long failed,
      long canceled,
      JobSummary firstFailure) {
    long jobs = pending + offered + running + succeeded + failed + canceled;
    return new BatchSummary(
        id,
        "./sweep.sh",
        "/home/ada/sweep",
        id,
        id + jobs - 1,
        jobs,
        Jobs.SUBMITTED,
        pending + offered + running == 0 ? Jobs.ENDED : null,
        new JobStats(pending, offered, running, succeeded, failed, canceled, 12.0, 30.0),
        firstFailure);
  }

  @BeforeEach
  void startServer() throws Exception {
    server =
        new ScriptedServer(
            CliHarness.SECRET,
            request ->
                switch (request) {
                  case Message.SubmitBatch submit ->
                      new Message.BatchSubmitted(
                          12, LongStream.range(12, 12 + submit.entries().size()).boxed().toList());
                  case Message.WaitBatch wait -> new Message.BatchEnded(waited);
                  case Message.ShowJob show ->
                      new Message.JobDetails(
                          new JobDetail(
                              inBatch(Jobs.finished(show.id(), 0), 12, 3),
                              null,
                              3,
                              List.of(),
                              CapturedOutput.EMPTY,
                              CapturedOutput.EMPTY));
                  case Message.RemoveBatch remove -> removed;
                  case Message.ListBatches list ->
                      new Message.BatchList(
                          List.of(
                              batch(12, 0, 0, 0, 1000, 0, 0, null),
                              batch(
                                  1012,
                                  900,
                                  1,
                                  3,
                                  90,
                                  6,
                                  0,
                                  inBatch(Jobs.finished(1020, 3), 1012, 9))),
                          STATS);
                  case Message.ListJobs list ->
                      new Message.JobList(
                          List.of(
                              inBatch(Jobs.finished(14, 0), 12, 3),
                              inBatch(Jobs.running(15), 12, 4),
                              Jobs.pending(16)),
                          STATS);
                  default -> new Message.Failure("bad_request", "unexpected");
                });
    cli = new CliHarness(home).pointingAt(server.port());
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  private Message.SubmitBatch submitted() {
    assertThat(server.requests()).hasSize(1);
    return (Message.SubmitBatch) server.requests().getFirst();
  }

  private static List<Long> indices(Message.SubmitBatch batch) {
    return batch.entries().stream().map(BatchEntry::index).toList();
  }

  @Nested
  class Array {
    @Test
    void submitsOneJobPerIndexInOneRequestAndPrintsTheBatchAndItsJobIds() {
      CliHarness.Result result = cli.run("cmd", "--array", "1-3", "-c", "2", "./sweep.sh", "-x");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(result.out()).isEqualTo("batch 12: jobs 12-14\n");
      Message.SubmitBatch batch = submitted();
      assertThat(indices(batch)).containsExactly(1L, 2L, 3L);
      assertThat(batch.entries()).allSatisfy(entry -> assertThat(entry.argv()).isNull());
      assertThat(batch.shared().argv()).containsExactly("./sweep.sh", "-x");
      assertThat(batch.shared().cpus()).isEqualTo(2);
      assertThat(batch.shared().env()).containsKey("HOME");
    }

    @Test
    void acceptsListsOfRangesAndSteps() {
      cli.run("cmd", "--array", "1-10,20,30-40", "true");
      cli.run("cmd", "--array", "1-100:10", "true");
      cli.run("cmd", "--array", "7", "true");

      List<Message.Request> requests = server.requests();
      assertThat(indices((Message.SubmitBatch) requests.get(0)))
          .hasSize(22)
          .startsWith(1L, 2L)
          .contains(20L, 30L, 40L)
          .doesNotContain(11L, 41L);
      assertThat(indices((Message.SubmitBatch) requests.get(1)))
          .containsExactly(1L, 11L, 21L, 31L, 41L, 51L, 61L, 71L, 81L, 91L);
      assertThat(indices((Message.SubmitBatch) requests.get(2))).containsExactly(7L);
    }

    @Test
    void aBatchOfOneJobSaysSo() {
      assertThat(cli.run("cmd", "--array", "7", "true").out()).isEqualTo("batch 12: job 12\n");
    }

    @Test
    void refusesEmptyHugeBackwardsRepeatedAndMalformedIndicesWithoutContactingTheServer() {
      assertThat(cli.run("cmd", "--array", "", "true").err()).contains("--array needs indices");
      assertThat(cli.run("cmd", "--array", "1-100001", "true").err())
          .contains("more than 100000 jobs");
      assertThat(cli.run("cmd", "--array", "10-1", "true").err())
          .contains("'10-1' ends before it starts");
      assertThat(cli.run("cmd", "--array", "1-5,3", "true").err())
          .contains("index 3 is given twice");
      assertThat(cli.run("cmd", "--array", "1-x", "true").err())
          .contains("'1-x' is not an index N, a range N-M or a range with a step N-M:S");
      assertThat(cli.run("cmd", "--array", "1-9:0", "true").err())
          .contains("the step in '1-9:0' must be at least 1");
      assertThat(cli.run("cmd", "--array", "99999999999999999999", "true").err())
          .contains("too large");
      assertThat(cli.run("cmd", "--array", "1-3", "true").exitCode()).isZero();
      assertThat(server.requests()).hasSize(1);
      assertThat(cli.run("cmd", "--array", "5-1", "true").exitCode())
          .isEqualTo(ExitCodes.USAGE_OR_CONFIG);
    }

    @Test
    void theLargestArrayIsAccepted() {
      CliHarness.Result result = cli.run("cmd", "--array", "1-100000", "true");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(submitted().entries()).hasSize(100_000);
      assertThat(result.out()).isEqualTo("batch 12: jobs 12-100011\n");
    }

    @Test
    void outputFileNamesWithIndexPlaceholdersGoToTheServerAsWritten() {
      cli.run("cmd", "--array", "1-2", "-o", "out-%a.txt", "-e", "err-%j-%a-%%.txt", "true");

      assertThat(submitted().shared().stdout()).isEqualTo("out-%a.txt");
      assertThat(submitted().shared().stderr()).isEqualTo("err-%j-%a-%%.txt");
    }

    @Test
    void printsTheBatchAndAllIdsAsJson() throws Exception {
      CliHarness.Result result = cli.run("cmd", "--json", "--array", "1-3", "true");

      JsonNode root = MessageCodec.mapper().readTree(result.out());
      assertThat(root.get("batch").asLong()).isEqualTo(12);
      assertThat(root.get("ids").toString()).isEqualTo("[12,13,14]");
    }

    @Test
    void waitingForABatchExitsWithTheFirstFailuresCodeAndSummarises() {
      waited = batch(12, 0, 0, 0, 2, 1, 0, inBatch(Jobs.finished(13, 3), 12, 2));

      CliHarness.Result result = cli.run("cmd", "--wait", "--array", "1-3", "./sweep.sh");

      assertThat(result.exitCode()).isEqualTo(3);
      assertThat(result.out()).isEqualTo("batch 12: jobs 12-14\n");
      assertThat(result.err())
          .isEqualTo(
              "batch 12: 2 of 3 jobs succeeded, 1 failed; first: job 13 [index 2] failed with"
                  + " exit code 3\n");
      assertThat(server.requests().get(1)).isEqualTo(new Message.WaitBatch(12, true));
    }

    @Test
    void waitingForABatchThatSucceededExitsWithZero() {
      CliHarness.Result result = cli.run("cmd", "-w", "--array", "1-5", "true");

      assertThat(result.exitCode()).isZero();
      assertThat(result.err()).isEqualTo("batch 12: all 5 jobs succeeded\n");
    }
  }

  @Nested
  class File {
    @Test
    void submitsOneShellLinePerCommandSkippingBlankLinesAndComments() throws Exception {
      Files.writeString(
          home.resolve("commands.txt"),
          "# a sweep\n"
              + "python train.py --seed 1 > out-1.txt\n"
              + "\n"
              + "   # indented comment\n"
              + "   \n"
              + "python train.py --seed 2 | tee out-2.txt\r\n"
              + "echo $KUEUE_ARRAY_INDEX\n");

      CliHarness.Result result = cli.run("cmd", "--file", "commands.txt", "-r", "512");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(result.out()).isEqualTo("batch 12: jobs 12-14\n");
      Message.SubmitBatch batch = submitted();
      assertThat(batch.entries())
          .containsExactly(
              new BatchEntry(2, List.of("/bin/sh", "-c", "python train.py --seed 1 > out-1.txt")),
              new BatchEntry(
                  6, List.of("/bin/sh", "-c", "python train.py --seed 2 | tee out-2.txt")),
              new BatchEntry(7, List.of("/bin/sh", "-c", "echo $KUEUE_ARRAY_INDEX")));
      assertThat(batch.shared().argv()).isEmpty();
      assertThat(batch.shared().ramMb()).isEqualTo(512);
      assertThat(batch.shared().cwd()).isEqualTo(home.toRealPath().toString());
    }

    @Test
    void readsTheCommandsFromStdinForADash() {
      cli.stdin = "echo one\necho two\n";

      CliHarness.Result result = cli.run("cmd", "--file", "-");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(submitted().entries())
          .extracting(BatchEntry::argv)
          .containsExactly(
              List.of("/bin/sh", "-c", "echo one"), List.of("/bin/sh", "-c", "echo two"));
    }

    @Test
    void oneBadLineRefusesTheWholeFileAndTheErrorNamesTheLine() throws Exception {
      Files.write(
          home.resolve("bad.txt"),
          "echo fine\necho also fine\necho \0oops\necho never sent\n".getBytes());
      Files.write(
          home.resolve("latin1.txt"), new byte[] {'e', 'c', 'h', 'o', '\n', 'x', (byte) 0xe9});

      CliHarness.Result nul = cli.run("cmd", "--file", "bad.txt");
      CliHarness.Result encoding = cli.run("cmd", "--file", "latin1.txt");

      assertThat(nul.exitCode()).isEqualTo(ExitCodes.USAGE_OR_CONFIG);
      assertThat(nul.err()).contains("bad.txt line 3 contains a NUL byte");
      assertThat(encoding.err()).contains("latin1.txt line 2 is not valid UTF-8 text");
      assertThat(server.requests()).isEmpty();
    }

    @Test
    void aFileWithoutCommandsAMissingFileOrAProgramBesideItAreUsageErrors() throws Exception {
      Files.writeString(home.resolve("empty.txt"), "# nothing\n\n");
      Files.writeString(home.resolve("one.txt"), "true\n");

      assertThat(cli.run("cmd", "--file", "empty.txt").err())
          .contains("empty.txt has no commands (only blank lines and # comments)");
      assertThat(cli.run("cmd", "--file", "missing.txt").err())
          .contains("--file missing.txt: no such file");
      assertThat(cli.run("cmd", "--file", "one.txt", "./run").err()).contains("give no PROGRAM");
      assertThat(cli.run("cmd", "--file", "one.txt", "--array", "1-2").err())
          .contains("either --array or --file");
      assertThat(cli.run("cmd").err()).contains("PROGRAM is missing (or give --file FILE)");
      assertThat(server.requests()).isEmpty();
    }
  }

  @Nested
  class OutputNames {
    @Test
    void aSingleJobMayNameItsFilesByJobIdButNotByIndex() {
      CliHarness.Result index = cli.run("cmd", "-o", "out-%a.txt", "true");
      CliHarness.Result unknown = cli.run("cmd", "--array", "1-2", "-e", "err-%q.txt", "true");

      assertThat(index.exitCode()).isEqualTo(ExitCodes.USAGE_OR_CONFIG);
      assertThat(index.err()).contains("--stdout 'out-%a.txt' uses %a").contains("--array");
      assertThat(unknown.err()).contains("--stderr 'err-%q.txt' has the unknown placeholder %q");
      assertThat(server.requests()).isEmpty();
    }
  }

  @Nested
  class WaitAndRemove {
    @Test
    void waitJobWaitsForABatchAndExitsWithTheCodeOfItsFirstFailure() {
      waited = batch(12, 0, 0, 0, 7, 0, 1, inBatch(Jobs.canceled(15), 12, 4));

      CliHarness.Result result = cli.run("wait-job", "--batch", "12");

      assertThat(server.requests()).containsExactly(new Message.WaitBatch(12, true));
      assertThat(result.exitCode()).isEqualTo(ExitCodes.JOB_CANCELED);
      assertThat(result.err())
          .isEqualTo(
              "batch 12: 7 of 8 jobs succeeded, 1 canceled; first: job 15 [index 4] was"
                  + " canceled\n");
    }

    @Test
    void waitJobPrintsTheEndedBatchAsJson() throws Exception {
      CliHarness.Result result = cli.run("wait-job", "--batch", "12", "--json");

      JsonNode root = MessageCodec.mapper().readTree(result.out());
      assertThat(root.at("/batch/batch").asLong()).isEqualTo(12);
      assertThat(root.at("/batch/stats/succeeded").asLong()).isEqualTo(5);
      assertThat(root.at("/batch/firstFailure").isNull()).isTrue();
      assertThat(result.exitCode()).isZero();
    }

    @Test
    void waitJobNeedsIdsOrABatchButNotBoth() {
      assertThat(cli.run("wait-job").err()).contains("give job ids or --batch BATCH");
      assertThat(cli.run("wait-job", "--batch", "12", "13").err()).contains("not both");
      assertThat(server.requests()).isEmpty();
    }

    @Test
    void removeJobCancelsABatchInOneRequestAndSaysWhatIsLeft() {
      removed = new Message.BatchRemoved(batch(12, 0, 0, 2, 1, 0, 7, null), 7, 2);

      CliHarness.Result result = cli.run("remove-job", "--batch", "12");

      assertThat(server.requests()).containsExactly(new Message.RemoveBatch(12, false));
      assertThat(result.exitCode()).isZero();
      assertThat(result.out())
          .isEqualTo(
              "batch 12: canceled 7 jobs; 2 jobs are still running; use --kill to stop them\n");
    }

    @Test
    void removeJobWithKillAsksToKillTheRunningJobsToo() {
      removed = new Message.BatchRemoved(batch(12, 0, 0, 0, 1, 0, 9, null), 9, 0);

      CliHarness.Result result = cli.run("remove-job", "--batch", "12", "--kill");

      assertThat(server.requests()).containsExactly(new Message.RemoveBatch(12, true));
      assertThat(result.out()).isEqualTo("batch 12: canceled 9 jobs\n");
    }

    @Test
    void removingABatchThatOnlyHasRunningJobsWithoutKillFails() {
      removed = new Message.BatchRemoved(batch(12, 0, 0, 2, 1, 0, 0, null), 0, 2);

      CliHarness.Result result = cli.run("remove-job", "--batch", "12");

      assertThat(result.exitCode()).isEqualTo(ExitCodes.REQUEST_FAILED);
      assertThat(result.err())
          .isEqualTo(
              "batch 12: nothing canceled; 2 jobs are still running; use --kill to stop them\n");
    }

    @Test
    void removeJobNeedsAnIdOrABatch() {
      assertThat(cli.run("remove-job").err()).contains("give job IDs or --batch BATCH");
      assertThat(cli.run("remove-job", "3", "--batch", "12").exitCode())
          .isEqualTo(ExitCodes.USAGE_OR_CONFIG);
      assertThat(server.requests()).isEmpty();
    }
  }

  @Test
  void theHelpOfCmdExplainsBatchesAndThePlaceholders() {
    CliHarness.Result result = cli.run("cmd", "--help");

    String help = String.join(" ", result.out().split("\\s+"));
    assertThat(help)
        .contains("--array=INDICES")
        .contains("--file=FILE")
        .contains("may use %j (the job id), %a (the array index), %b (the batch id) and %% (a")
        .contains("-o out-%a.txt");
  }

  @Test
  void showJobTellsTheBatchAndIndexOfAJob() {
    CliHarness.Result result = cli.run("show-job", "14");

    assertThat(result.outLines())
        .anySatisfy(
            line -> assertThat(line).matches("  batch: +12, index 3 \\(list-jobs --batch 12\\)"));
  }

  @Nested
  class ListJobs {
    @Test
    void showsOneLinePerBatchWithCountsEtaAndCommand() {
      CliHarness.Result result = cli.run("list-jobs", "--batches");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(result.outLines())
          .containsExactly(
              "batch  jobs       pending  running  succeeded  failed  canceled  avg  ETA  command",
              "   12  12-1011          0        0       1000       0         0  12s    - "
                  + " ./sweep.sh",
              " 1012  1012-2011      900        4         90       6         0  12s  30s "
                  + " ./sweep.sh",
              "pending 3 · running 4 · succeeded 120 · failed 2 · canceled 0   avg 1m12s  ETA 3m");
      assertThat(server.requests()).containsExactly(new Message.ListBatches(26, List.of()));
    }

    @Test
    void onAnEightyColumnTerminalTheBatchLinesFitWithoutTheirJobIds() {
      cli.env.put("COLUMNS", "80");

      List<String> lines = cli.run("list-jobs", "--batches").outLines();

      assertThat(lines)
          .allSatisfy(line -> assertThat(DisplayWidth.of(line)).isLessThanOrEqualTo(80));
      assertThat(lines.getFirst()).startsWith("batch  pending").contains("succeeded", "command");
    }

    @Test
    void filtersSelectBatchesWithSuchJobs() {
      cli.run("list-jobs", "--batches", "-f", "-r", "-n", "5");

      assertThat(server.requests())
          .containsExactly(
              new Message.ListBatches(5, List.of(JobFilter.RUNNING, JobFilter.FAILED)));
    }

    @Test
    void printsTheBatchesAsJson() throws Exception {
      CliHarness.Result result = cli.run("list-jobs", "--batches", "--json");

      JsonNode root = MessageCodec.mapper().readTree(result.out());
      assertThat(root.get("batches").size()).isEqualTo(2);
      List<String> fields = new ArrayList<>();
      root.get("batches").get(1).fieldNames().forEachRemaining(fields::add);
      assertThat(fields)
          .containsExactly(
              "batch",
              "command",
              "cwd",
              "firstJob",
              "lastJob",
              "jobs",
              "submitted",
              "ended",
              "stats",
              "firstFailure");
      assertThat(root.at("/batches/1/firstFailure/arrayIndex").asLong()).isEqualTo(9);
      assertThat(root.has("stats")).isTrue();
    }

    @Test
    void listsTheJobsOfOneBatchWithTheirIndices() {
      CliHarness.Result result = cli.run("list-jobs", "--batch", "12", "-s", "-r");

      assertThat(server.requests())
          .containsExactly(
              new Message.ListJobs(26, List.of(JobFilter.RUNNING, JobFilter.SUCCEEDED), 12L));
      assertThat(result.outLines().get(0)).startsWith("id  batch  status");
      assertThat(result.outLines().get(1)).startsWith("14  12[3]  finished (0)");
      assertThat(result.outLines().get(2)).startsWith("15  12[4]  running");
      assertThat(result.outLines().get(3)).startsWith("16  -      pending");
    }

    @Test
    void batchesAndBatchTogetherAreAUsageError() {
      assertThat(cli.run("list-jobs", "--batches", "--batch", "3").err())
          .contains("either --batches or --batch");
    }
  }
}
