package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import kueue.model.JobUpdate;
import kueue.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpdateJobCommandTest {
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
                  case Message.UpdateJobs update ->
                      new Message.JobsUpdated(update.ids(), List.of());
                  default -> new Message.Failure("bad_request", "unexpected");
                });
    cli = new CliHarness(home).pointingAt(server.port());
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  private JobUpdate sent() {
    return ((Message.UpdateJobs) server.requests().getFirst()).update();
  }

  @Test
  void sendsTheTimeLimitInSecondsAndTheRetries() {
    CliHarness.Result result = cli.run("update-job", "4", "5", "--time", "1h30m", "--retries", "2");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualTo("2 jobs updated\n");
    assertThat(sent()).isEqualTo(new JobUpdate(null, null, 5400L, 2));
  }

  @Test
  void takesSlurmClockDurations() {
    cli.run("update-job", "4", "-t", "1-02:00:00");

    assertThat(sent().timeLimitSeconds()).isEqualTo(26 * 3600L);
  }

  @Test
  void noneOrZeroRemovesTheTimeLimitAndZeroRetriesRemoveRetries() {
    cli.run("update-job", "4", "--time", "none", "--retries", "0");

    assertThat(sent()).isEqualTo(new JobUpdate(null, null, 0L, 0));
  }

  @Test
  void refusesABadDurationOrNegativeRetriesBeforeAskingTheServer() {
    CliHarness.Result badTime = cli.run("update-job", "4", "--time", "soon");
    CliHarness.Result negative = cli.run("update-job", "4", "--retries", "-1");

    assertThat(badTime.exitCode()).isEqualTo(ExitCodes.USAGE_OR_CONFIG);
    assertThat(badTime.err()).contains("--time: 'soon'");
    assertThat(negative.exitCode()).isEqualTo(ExitCodes.USAGE_OR_CONFIG);
    assertThat(negative.err()).contains("--retries must not be negative");
    assertThat(server.requests()).isEmpty();
  }
}
