package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobFilter;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.model.ResourceUsage;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerSummary;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReadingCommandsTest {
  static final JobStats STATS = new JobStats(3, 0, 4, 120, 2, 0, 72.0, 170.0);
  static final WorkerSummary WORKER =
      new WorkerSummary(
          3,
          "ralab04",
          new SystemInfo(
              "ralab04",
              "Debian GNU/Linux 12",
              "6.1.0",
              16,
              3400.4,
              65536,
              40960,
              1.5,
              1.25,
              1.0,
              97_200),
          new WorkerCapacity(new Resources(10, 16, 65536), 2, 40960),
          new Resources(2, 4, 2048),
          new Resources(8, 10, 38912),
          2,
          0.25,
          Instant.parse("2026-11-25T08:00:00Z"),
          Instant.parse("2026-11-25T09:59:58Z"),
          List.of());
  static final JobDetail DETAIL =
      new JobDetail(
          Jobs.finished(12, 1),
          JobSpecBuilder.builder()
              .argv(List.of("./train.py", "--lr", "0.1"))
              .cwd("/home/ada/experiments/run12")
              .slots(1)
              .cpus(2)
              .ramMb(1024)
              .globalResources(Map.of("genus", 1))
              .stderr("null")
              .build(),
          42,
          List.of(
              new JobEvent(Jobs.SUBMITTED, 0, "submitted", null, null),
              new JobEvent(Jobs.STARTED, 1, "started", "ralab04", null),
              new JobEvent(Jobs.ENDED, 1, "ended", "ralab04", "exit code 1")),
          new CapturedOutput("epoch 99\nloss 0.01\n", 5000),
          CapturedOutput.EMPTY);

  @TempDir Path home;
  private CliHarness cli;
  private ScriptedServer server;

  @BeforeEach
  void startServer() throws Exception {
    server =
        new ScriptedServer(
            CliHarness.SECRET,
            request ->
                switch (request) {
                  case Message.ListJobs list ->
                      new Message.JobList(
                          List.of(
                              Jobs.finished(10, 0),
                              Jobs.finished(11, 2),
                              Jobs.running(12),
                              Jobs.pending(13)),
                          STATS);
                  case Message.ShowJob show -> new Message.JobDetails(DETAIL);
                  case Message.ListWorkers list -> new Message.WorkerList(List.of(WORKER));
                  case Message.ShowWorker show ->
                      new Message.WorkerDetails(WORKER, List.of(Jobs.running(12)));
                  case Message.ListResources list ->
                      new Message.ResourceList(
                          List.of(
                              new ResourceUsage("genus", 3, 3), new ResourceUsage("matlab", 0, 2)));
                  case Message.RemoveJob remove when remove.id() == 99 ->
                      new Message.Failure("not_found", "job 99 not found");
                  case Message.RemoveJob remove ->
                      new Message.JobRemoved(Jobs.canceled(remove.id()));
                  case Message.CleanJobs clean -> new Message.JobsCleaned(5);
                  default -> new Message.Failure("bad_request", "unexpected");
                });
    cli = new CliHarness(home).pointingAt(server.port());
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  private static JsonNode json(String text) throws Exception {
    return MessageCodec.mapper().readTree(text);
  }

  private static List<String> fieldNames(JsonNode node) {
    return node.properties().stream().map(Map.Entry::getKey).toList();
  }

  /** The CLI daemon runs commands on trees built before their run ({@link KueueCli#prepare}). */
  @Nested
  class PreparedTrees {
    private CliHarness.Result runPrepared(
        KueueCli.Prepared prepared, Map<String, String> env, String... args) {
      java.io.StringWriter out = new java.io.StringWriter();
      java.io.StringWriter err = new java.io.StringWriter();
      List<String> all = new java.util.ArrayList<>(List.of("-c", cli.config.toString()));
      all.addAll(List.of(args));
      int exitCode =
          KueueCli.runFor(
              prepared,
              all.toArray(String[]::new),
              new java.io.PrintWriter(out),
              new java.io.PrintWriter(err),
              env,
              home,
              false,
              Path.of("/dev/null"),
              java.io.InputStream.nullInputStream(),
              null,
              null);
      return new CliHarness.Result(exitCode, out.toString(), err.toString());
    }

    @Test
    void runWithTheEnvironmentAndOptionsOfTheirOwnRunAndPrintWhatAFreshTreePrints() {
      Map<String, String> env = new java.util.HashMap<>(cli.env);
      env.put("LINES", "20");
      CliHarness.Result prepared = runPrepared(KueueCli.prepare("list-jobs"), env, "list-jobs");
      CliHarness.Result withOptions =
          runPrepared(KueueCli.prepare("list-jobs"), env, "list-jobs", "-n", "3", "-f");
      CliHarness.Result afterwards = runPrepared(KueueCli.prepare("list-jobs"), env, "list-jobs");
      CliHarness.Result fresh = runPrepared(null, env, "list-jobs");

      assertThat(server.requests())
          .containsExactly(
              new Message.ListJobs(16, List.of()),
              new Message.ListJobs(3, List.of(JobFilter.FAILED)),
              new Message.ListJobs(16, List.of()),
              new Message.ListJobs(16, List.of()));
      assertThat(prepared.exitCode()).isZero();
      // The running job's runtime is by the wall clock, which may pass a minute between runs.
      assertThat(withoutRuntimes(prepared.out()))
          .contains("pending 3")
          .isEqualTo(withoutRuntimes(fresh.out()));
      assertThat(withoutRuntimes(afterwards.out())).isEqualTo(withoutRuntimes(fresh.out()));
    }

    private static String withoutRuntimes(String listing) {
      return listing.replaceAll("running( +)\\S+( +)\\S+( +)\\S+", "running$1-$2-$3-");
    }

    @Test
    void aTreePreparedForAnotherCommandIsNotUsed() {
      CliHarness.Result result =
          runPrepared(KueueCli.prepare("list-jobs"), cli.env, "list-workers");

      assertThat(result.exitCode()).isZero();
      assertThat(result.out()).contains("ralab04");
      assertThat(server.requests()).containsExactly(new Message.ListWorkers());
    }

    @Test
    void onlyServerCommandsArePrepared() {
      assertThat(KueueCli.serverCommandNames())
          .contains("cmd", "list-jobs", "wait-job")
          .doesNotContain("help");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> KueueCli.prepare("help"))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Nested
  class ListJobs {
    @Test
    void asksForWhatFitsTheTerminalHeight() {
      cli.env.put("LINES", "30");
      cli.run("list-jobs");
      cli.env.put("LINES", "8");
      cli.run("list-jobs");

      assertThat(server.requests())
          .containsExactly(
              new Message.ListJobs(26, List.of()), new Message.ListJobs(10, List.of()));
    }

    @Test
    void asksForTheGivenNumberAndStates() {
      cli.run("list-jobs", "-n", "5", "-r", "-f");
      cli.run("list-jobs", "-n", "0", "-p", "-o", "-s", "-c");

      assertThat(server.requests())
          .containsExactly(
              new Message.ListJobs(5, List.of(JobFilter.RUNNING, JobFilter.FAILED)),
              new Message.ListJobs(
                  0,
                  List.of(
                      JobFilter.PENDING,
                      JobFilter.OFFERED,
                      JobFilter.SUCCEEDED,
                      JobFilter.CANCELED)));
    }

    @Test
    void printsAnAlignedTableWithFooterAndNoColoursWhenNotATerminal() {
      CliHarness.Result result = cli.run("list-jobs");

      assertThat(result.exitCode()).isZero();
      assertThat(result.out()).doesNotContain("\u001b[");
      assertThat(result.outLines())
          .containsExactly(
              "id  status           worker   runtime  working directory            command",
              "10  finished (0)     ralab04    1m12s  /home/ada/experiments/run10  ./train.py --lr"
                  + " 0.1",
              "11  failed (exit 2)  ralab04    1m12s  /home/ada/experiments/run11  ./train.py --lr"
                  + " 0.1",
              "12  running          ralab04   59m00s  /home/ada/experiments/run12  ./train.py --lr"
                  + " 0.1",
              "13  pending          -              -  /home/ada/experiments/run13  ./train.py --lr"
                  + " 0.1",
              "(the newest 4 of 129 shown; -n 0 shows all)",
              "pending 3 · running 4 · succeeded 120 · failed 2 · canceled 0   avg 1m12s  ETA 3m");
    }

    @Test
    void clipsToTheTerminalWidth() {
      cli.env.put("COLUMNS", "70");

      CliHarness.Result result = cli.run("list-jobs");

      List<String> rows = result.outLines().subList(0, 5);
      assertThat(rows).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(70));
      assertThat(rows.get(1))
          .startsWith("10  finished (0)     ralab04")
          .containsPattern("  …[^ ]*/run10  ")
          .endsWith("…");
    }

    @Test
    void usesColoursWhenForcedAndNotWhenNoColorIsSet() {
      cli.env.put("CLICOLOR_FORCE", "1");
      String coloured = cli.run("list-jobs").out();
      cli.env.put("NO_COLOR", "1");
      String plain = cli.run("list-jobs").out();

      assertThat(coloured)
          .contains("\u001b[32mfinished (0)\u001b[0m")
          .contains("\u001b[34mrunning\u001b[0m");
      assertThat(plain).doesNotContain("\u001b[");
    }

    @Test
    void printsTheJobListAsJson() throws Exception {
      CliHarness.Result result = cli.run("list-jobs", "--json");

      JsonNode root = json(result.out());
      assertThat(fieldNames(root)).containsExactly("jobs", "stats");
      assertThat(fieldNames(root.get("jobs").get(0)))
          .containsExactly(
              "id",
              "state",
              "command",
              "cwd",
              "slots",
              "cpus",
              "ramMb",
              "attempt",
              "worker",
              "submitted",
              "started",
              "ended",
              "exitCode",
              "signal",
              "note",
              "batch",
              "arrayIndex",
              "priority");
      assertThat(root.get("jobs").get(0).get("submitted").asText())
          .isEqualTo("2026-11-25T09:00:00Z");
      assertThat(fieldNames(root.get("stats")))
          .containsExactly(
              "pending",
              "offered",
              "running",
              "succeeded",
              "failed",
              "canceled",
              "timedOut",
              "averageRunSeconds",
              "etaSeconds",
              "held",
              "waiting");
      assertThat(result.out()).contains("\n  \"jobs\"");
    }
  }

  @Nested
  class ShowJob {
    @Test
    void printsEveryFieldTheHistoryAndTheCapturedOutput() {
      CliHarness.Result result = cli.run("show-job", "12");

      assertThat(result.exitCode()).isZero();
      assertThat(server.requests()).containsExactly(new Message.ShowJob(12));
      assertThat(result.out())
          .contains("job 12\n")
          .contains("status:            failed (exit 1)")
          .contains("command:           ./train.py --lr 0.1")
          .contains("working directory: /home/ada/experiments/run12")
          .contains("exit code:         1")
          .contains("reserves:          1 slot, 2 CPUs, 1024 MB RAM, genus=1")
          .contains("environment:       42 variables from the submitting shell")
          .contains("stderr:            discarded")
          .contains("  attempt 1 on ralab04:\n")
          .containsPattern("\n    \\S.*  started\n")
          .containsPattern("\n    \\S.*  ended: exit code 1\n")
          .contains(
              "stdout (truncated: the first 5000 bytes were dropped, the last 19 bytes follow):\n"
                  + "epoch 99\nloss 0.01\n");
    }

    @Test
    void aJobDeclinedByEveryWorkerSaysSoAndIsOnNoWorker() {
      java.io.StringWriter text = new java.io.StringWriter();
      JobSummary declined =
          JobSummaryBuilder.builder(
                  Jobs.job(
                      12,
                      JobState.PENDING,
                      "vm2",
                      null,
                      null,
                      null,
                      null,
                      "declined by every connected worker: vm1: working directory /x does not"
                          + " exist on vm1; vm2: working directory /x does not exist on vm2"))
              .attempt(2)
              .build();
      JobDetail detail =
          new JobDetail(
              declined,
              DETAIL.spec(),
              DETAIL.envVariables(),
              List.of(
                  new JobEvent(Jobs.SUBMITTED, 0, "submitted", null, null),
                  new JobEvent(Jobs.SUBMITTED, 1, "declined", "vm1", "no such directory"),
                  new JobEvent(Jobs.SUBMITTED, 2, "declined", "vm2", "no such directory")),
              DETAIL.stdout(),
              DETAIL.stderr());

      ShowJobCommand.print(detail, Jobs.ENDED, false, new java.io.PrintWriter(text, true));

      assertThat(text.toString().lines())
          .contains(
              "  status:            pending (declined by all)",
              "  waiting because:   declined by every connected worker: vm1: working directory /x"
                  + " does not exist on vm1; vm2: working directory /x does not exist on vm2",
              "  worker:            -",
              "  attempt:           none started (offered 2 times, see the history)");
    }

    @Test
    void aJobWaitingForItsRetryShowsItsLastAttemptAndItsOutputAsEnded() {
      java.io.StringWriter text = new java.io.StringWriter();
      JobSummary waiting =
          JobSummaryBuilder.builder(
                  Jobs.job(12, JobState.PENDING, "ralab04", null, null, null, null, null))
              .attempt(1)
              .build();
      JobDetail detail =
          new JobDetail(
              waiting,
              DETAIL.spec(),
              DETAIL.envVariables(),
              DETAIL.history(),
              new kueue.model.CapturedOutput("once\n", 0),
              kueue.model.CapturedOutput.EMPTY);

      ShowJobCommand.print(detail, Jobs.ENDED, false, new java.io.PrintWriter(text, true));

      assertThat(text.toString().lines())
          .contains("  attempt:           1", "stdout:", "once")
          .noneMatch(line -> line.contains("none started") || line.contains("once the job"));
    }

    @Test
    void groupsTheHistoryByAttemptWithHowEachOneEnded() {
      java.io.StringWriter text = new java.io.StringWriter();
      JobDetail twice =
          new JobDetail(
              DETAIL.summary(),
              DETAIL.spec(),
              DETAIL.envVariables(),
              List.of(
                  new JobEvent(Jobs.SUBMITTED, 0, "submitted", null, null),
                  new JobEvent(Jobs.SUBMITTED, 1, "offered", "alpha", null),
                  new JobEvent(Jobs.STARTED, 1, "started", "alpha", null),
                  new JobEvent(Jobs.STARTED, 1, "requeued", "alpha", "worker alpha lost"),
                  new JobEvent(Jobs.STARTED, 2, "offered", "beta", null),
                  new JobEvent(Jobs.STARTED, 2, "declined", "beta", "no such directory"),
                  new JobEvent(Jobs.ENDED, 3, "offered", "gamma", null),
                  new JobEvent(Jobs.ENDED, 3, "ended", "gamma", "exit 0")),
              DETAIL.stdout(),
              DETAIL.stderr());

      ShowJobCommand.print(twice, Jobs.ENDED, false, new java.io.PrintWriter(text, true));

      String history = text.toString().substring(text.toString().indexOf("history:"));
      assertThat(
              history
                  .lines()
                  .map(line -> line.replaceAll("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}", "T")))
          .containsSubsequence(
              "  attempt 1 on alpha:",
              "    T  offered",
              "    T  started",
              "    T  requeued: worker alpha lost",
              "  attempt 2 on beta:",
              "    T  offered",
              "    T  declined: no such directory",
              "  attempt 3 on gamma:",
              "    T  offered",
              "    T  ended: exit 0");
    }

    @Test
    void printsTheJobDetailAsJson() throws Exception {
      JsonNode root = json(cli.run("show-job", "--json", "12").out());

      assertThat(fieldNames(root))
          .containsExactly(
              "summary",
              "spec",
              "envVariables",
              "history",
              "stdout",
              "stderr",
              "devices",
              "dependencies",
              "outputAttempts");
      assertThat(root.get("stdout").get("droppedBytes").asLong()).isEqualTo(5000);
      assertThat(root.get("spec").get("argv").get(0).asText()).isEqualTo("./train.py");
    }
  }

  @Nested
  class Workers {
    @Test
    void listsTheMachineOfEveryWorker() {
      CliHarness.Result result = cli.run("list-workers");

      assertThat(result.outLines())
          .containsExactly(
              "id  name     os          cores   MHz    kueue  others       free  jobs  busy  load"
                  + " 1/5/15     uptime",
              " 3  ralab04  Debian GN…     16  3400  4c 2.0G       -  10c 38.0G     2   25%  1.50"
                  + " 1.25 1.00   1d03h");
    }

    @Test
    void onAnEightyColumnTerminalTheLeastNeededColumnsGo() {
      cli.env.put("COLUMNS", "80");

      List<String> lines = cli.run("list-workers").outLines();

      assertThat(lines)
          .allSatisfy(line -> assertThat(DisplayWidth.of(line)).isLessThanOrEqualTo(80));
      assertThat(lines.getFirst()).contains("free", "jobs", "busy").doesNotContain("MHz");
    }

    @Test
    void printsTheWorkerListAsJson() throws Exception {
      JsonNode root = json(cli.run("list-workers", "--json").out());

      assertThat(fieldNames(root)).containsExactly("workers");
      assertThat(fieldNames(root.get("workers").get(0)))
          .containsExactly(
              "id",
              "name",
              "system",
              "capacity",
              "reserved",
              "free",
              "runningJobs",
              "busyness",
              "connected",
              "lastSeen",
              "devices");
    }

    @Test
    void showsOneWorkerWithItsJobs() {
      CliHarness.Result result = cli.run("show-worker", "3");

      assertThat(server.requests()).containsExactly(new Message.ShowWorker(3));
      assertThat(result.out())
          .contains("worker 3 ralab04")
          .contains("kernel:       6.1.0")
          .contains("capacity:     10 slots, 16 CPUs, 65536 MB RAM")
          .contains("free:         8 slots, 10 CPUs, 38912 MB RAM")
          .contains("last seen:    2026-")
          .contains("12  running");
    }

    @Test
    void takesAWorkerByNameToo() {
      CliHarness.Result result = cli.run("show-worker", "ralab04");

      assertThat(server.requests())
          .containsExactly(new Message.ListWorkers(), new Message.ShowWorker(3));
      assertThat(result.out()).contains("worker 3 ralab04");
    }

    @Test
    void anUnknownNameIsAnErrorThatSaysWhereTheNamesAre() {
      CliHarness.Result result = cli.run("show-worker", "ralab99");

      assertThat(result.exitCode()).isEqualTo(ExitCodes.REQUEST_FAILED);
      assertThat(result.err()).contains("no connected worker is named ralab99");
    }

    @Test
    void printsOneWorkerAsJson() throws Exception {
      JsonNode root = json(cli.run("show-worker", "--json", "3").out());

      assertThat(fieldNames(root)).containsExactly("worker", "jobs");
    }
  }

  @Nested
  class Resources_ {
    @Test
    void listsUsedOfTotal() {
      assertThat(cli.run("list-resources").outLines())
          .containsExactly("name    used/total", "genus          3/3", "matlab         0/2");
    }

    @Test
    void printsTheResourceListAsJson() throws Exception {
      JsonNode root = json(cli.run("list-resources", "--json").out());

      assertThat(fieldNames(root)).containsExactly("resources");
      assertThat(fieldNames(root.get("resources").get(0))).containsExactly("name", "used", "total");
    }
  }

  @Nested
  class Changes {
    @Test
    void removeJobAsksToKillOnlyWithKill() {
      CliHarness.Result plain = cli.run("remove-job", "4");
      cli.run("remove-job", "-k", "5");

      assertThat(plain.out()).isEqualTo("job 4 canceled\n");
      assertThat(server.requests())
          .containsExactly(new Message.RemoveJob(4, false), new Message.RemoveJob(5, true));
    }

    @Test
    void removeJobOfSeveralIdsTriesEachAndSaysWhichCouldNotBeCanceled() {
      CliHarness.Result result = cli.run("remove-job", "4", "99", "5", "4");

      assertThat(result.out()).isEqualTo("job 4 canceled\njob 5 canceled\n");
      assertThat(result.err()).isEqualTo("kueue: job 99 not found\n");
      assertThat(result.exitCode()).isEqualTo(ExitCodes.REQUEST_FAILED);
      assertThat(server.requests())
          .containsExactly(
              new Message.RemoveJob(4, false),
              new Message.RemoveJob(99, false),
              new Message.RemoveJob(5, false));
    }

    @Test
    void cleanJobsSaysHowManyWereRemoved() {
      CliHarness.Result plain = cli.run("clean-jobs");
      cli.run("clean-jobs", "--all");

      assertThat(plain.out()).isEqualTo("removed 5 jobs\n");
      assertThat(server.requests())
          .containsExactly(new Message.CleanJobs(false), new Message.CleanJobs(true));
    }
  }
}
