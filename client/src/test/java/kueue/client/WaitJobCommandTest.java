package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WaitJobCommandTest {
  @TempDir Path home;
  private CliHarness cli;
  private ScriptedServer server;

  @BeforeEach
  void startServer() throws Exception {
    // Answered in id order, not in the order asked, to show the CLI does not rely on it.
    server =
        new ScriptedServer(
            CliHarness.SECRET,
            request ->
                new Message.JobsEnded(
                    List.of(
                        Jobs.finished(1, 0),
                        Jobs.canceled(2),
                        Jobs.finished(3, 4),
                        Jobs.timedOut(4))));
    cli = new CliHarness(home).pointingAt(server.port());
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  @Test
  void exitsWithTheCodeOfTheFirstListedJobThatDidNotSucceed() {
    CliHarness.Result result = cli.run("wait-job", "3", "2", "1");

    assertThat(result.exitCode()).isEqualTo(4);
    assertThat(result.err())
        .isEqualTo(
            "job 3 failed with exit code 4\njob 2 was canceled\njob 1 finished with exit code 0\n"
                + "3 jobs: 1 succeeded, 1 failed, 1 canceled\n");
    assertThat(server.requests()).containsExactly(new Message.WaitJobs(List.of(3L, 2L, 1L), true));
  }

  @Test
  void aTimedOutJobExitsWith124LikeTimeout() {
    CliHarness.Result result = cli.run("wait-job", "4");

    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(result.err()).isEqualTo("job 4 timed out: stopped at its time limit (SIGTERM)\n");
  }

  @Test
  void severalJobsExitWithZeroOnlyIfEverySucceededAndAreCountedByHowTheyEnded() {
    CliHarness.Result result = cli.run("wait-job", "1", "4");

    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(result.err()).endsWith("2 jobs: 1 succeeded, 1 timed out\n");
  }

  @Test
  void printsTheEndedJobsAsJsonWithJson() throws Exception {
    CliHarness.Result result = cli.run("wait-job", "--json", "1");

    var json = MessageCodec.mapper().readTree(result.out());
    assertThat(json.get("jobs")).hasSize(4);
    assertThat(json.get("jobs").get(0).get("state").asText()).isEqualTo("FINISHED");
    assertThat(json.has("type")).isFalse();
  }

  @Test
  void printsEachNewReasonOnceAndNothingOnceTheJobNoLongerWaits() {
    java.io.StringWriter text = new java.io.StringWriter();
    WaitJobCommand.ReasonPrinter printer =
        new WaitJobCommand.ReasonPrinter(new java.io.PrintWriter(text));

    printer.accept(new Message.PendingReason(5, "no worker connected"));
    // The same again, as after a reconnection to a restarted server.
    printer.accept(new Message.PendingReason(5, "no worker connected"));
    printer.accept(
        new Message.PendingReason(
            5, "declined by every connected worker: vm1: working directory /x does not exist"));
    printer.accept(new Message.PendingReason(5, null));

    assertThat(text.toString())
        .isEqualTo(
            "kueue: job 5 waits: no worker connected\n"
                + "kueue: job 5 waits: declined by every connected worker: vm1: working directory"
                + " /x does not exist\n");
  }

  @Test
  void ctrlCSaysHowToComeBackToTheJobsOrStopThem() {
    assertThat(WaitJobCommand.jobsHint("waiting", List.of(7L, 7L)))
        .isEqualTo(
            "kueue: stopped waiting; job 7 goes on. Follow it: kueue log -f 7; wait for it: kueue"
                + " wait-job 7; stop it: kueue remove-job --kill 7");
    assertThat(WaitJobCommand.jobsHint("waiting", List.of(7L, 8L)))
        .isEqualTo(
            "kueue: stopped waiting; jobs 7 8 go on. Wait for them: kueue wait-job 7 8; follow"
                + " one: kueue log -f ID; stop one: kueue remove-job --kill ID");
    assertThat(WaitJobCommand.batchHint("following", 12))
        .isEqualTo(
            "kueue: stopped following; batch 12 goes on. Follow it: kueue log -f --batch 12; wait"
                + " for it: kueue wait-job --batch 12; stop it: kueue remove-job --kill --batch 12");
  }
}
