package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * One server and two workers as real processes on loopback, driven through the real {@code kueue}
 * command, as a user would. The fleet is shared by the tests of this class to keep the suite fast;
 * each test uses its own jobs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path home;
  private Fleet fleet;

  @BeforeAll
  void startFleet() throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of("global_resources", "genus = 1"));
    fleet.startWorker("alpha", "worker_max_parallel_jobs = 4");
    fleet.startWorker("beta", "worker_max_parallel_jobs = 4");
  }

  @AfterAll
  void stopFleet() {
    fleet.close();
  }

  private JsonNode json(String... args) throws Exception {
    Fleet.Result result = fleet.kueue(args);
    assertThat(result.exitCode()).as(result.toString()).isZero();
    return JSON.readTree(result.out());
  }

  private JsonNode job(long id) throws Exception {
    return json("show-job", String.valueOf(id), "--json");
  }

  private Fleet.Result waitFor(long id) throws Exception {
    return fleet.kueue("wait-job", String.valueOf(id));
  }

  @Test
  void aSubmittedJobRunsAndItsOutputIsShown() throws Exception {
    long id = fleet.submit("echo", "hello", "world");

    assertThat(waitFor(id).exitCode()).isZero();
    JsonNode job = job(id);
    assertThat(job.at("/summary/state").asText()).isEqualTo("FINISHED");
    assertThat(job.at("/summary/exitCode").asInt()).isZero();
    assertThat(job.at("/stdout/text").asText()).isEqualTo("hello world\n");
    Fleet.Result human = fleet.kueue("show-job", String.valueOf(id));
    assertThat(human.out()).contains("hello world");
  }

  @Test
  void waitingSubmissionsExitWithTheJobsExitCode() throws Exception {
    assertThat(fleet.kueue("cmd", "--wait", "true").exitCode()).isZero();
    assertThat(fleet.kueue("cmd", "--wait", "false").exitCode()).isEqualTo(1);
    assertThat(fleet.kueue("cmd", "--wait", "sh", "-c", "exit 7").exitCode()).isEqualTo(7);
  }

  @Test
  void aJobRunsWithoutAShellInTheSubmittersDirectoryWithTheSubmittersEnvironment()
      throws Exception {
    Path dir = Files.createDirectories(home.resolve("project dir"));
    Fleet.Result submitted =
        fleet.kueueIn(
            dir,
            Map.of("MY_SETTING", "forty two", "DISPLAY", ":0"),
            "cmd",
            "sh",
            "-c",
            "pwd; echo \"$MY_SETTING\"; echo \"display=$DISPLAY\"; echo $KUEUE_JOB_ID; echo \"$0 $1\"",
            "-c",
            "$HOME");
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    long id = Long.parseLong(submitted.out().trim());

    waitFor(id);
    String out = job(id).at("/stdout/text").asText();
    assertThat(out.lines().toList())
        .containsExactly(
            dir.toRealPath().toString(), "forty two", "display=", String.valueOf(id), "-c $HOME");
  }

  @Test
  void jobsThatDoNotFitTogetherQueueBehindEachOther() throws Exception {
    // Each worker has 4 slots: jobs taking 3 slots can only run one per worker at a time.
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ids.add(fleet.submit("-j", "3", "sleep", "0.5"));
    }
    for (long id : ids) {
      assertThat(waitFor(id).exitCode()).isZero();
    }
    assertNoOverlapPerWorker(ids);
  }

  @Test
  void aGlobalResourceIsHeldByOneJobAtATime() throws Exception {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ids.add(fleet.submit("--resource", "genus", "sleep", "0.4"));
    }
    for (long id : ids) {
      waitFor(id);
    }
    List<long[]> intervals = new ArrayList<>();
    for (long id : ids) {
      intervals.add(interval(job(id)));
    }
    assertDisjoint(intervals);
    JsonNode resources = json("list-resources", "--json");
    assertThat(resources.toString()).contains("genus");
  }

  @Test
  void anUnknownGlobalResourceOrAnImpossibleSlotCountIsRejectedAtSubmit() throws Exception {
    Fleet.Result unknown = fleet.kueue("cmd", "--resource", "nosuch", "true");
    assertThat(unknown.exitCode()).isEqualTo(5);
    assertThat(unknown.err()).contains("nosuch");

    Fleet.Result tooMany = fleet.kueue("cmd", "--resource", "genus=2", "true");
    assertThat(tooMany.exitCode()).isEqualTo(5);

    Fleet.Result slots = fleet.kueue("cmd", "-j", "1000", "true");
    assertThat(slots.exitCode()).isEqualTo(5);
    assertThat(slots.err()).containsIgnoringCase("global_max_parallel_jobs");
  }

  @Test
  void aJobNoWorkerCanEverHoldWaitsWithAReasonWithoutBlockingOthers() throws Exception {
    long huge = fleet.submit("-c", "100000", "true");
    long small = fleet.submit("true");

    assertThat(waitFor(small).exitCode()).isZero();
    JsonNode job = job(huge);
    assertThat(job.at("/summary/state").asText()).isEqualTo("PENDING");
    assertThat(job.at("/summary/note").asText()).contains("large enough");

    Fleet.Result removed = fleet.kueue("remove-job", String.valueOf(huge));
    assertThat(removed.exitCode()).as(removed.toString()).isZero();
    assertThat(job(huge).at("/summary/state").asText()).isEqualTo("CANCELED");
  }

  @Test
  void aRunningJobIsOnlyRemovedWithKillWhichEndsItsWholeProcessTree() throws Exception {
    Path pids = home.resolve("tree-pids");
    long id = fleet.submit("sh", "-c", "sleep 1000 & echo $! > " + pids + "; sleep 1000");
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> Files.exists(pids) && !Files.readString(pids).isBlank());
    long grandchild = Long.parseLong(Files.readString(pids).trim());
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> job(id).at("/summary/state").asText().equals("RUNNING"));

    Fleet.Result refused = fleet.kueue("remove-job", String.valueOf(id));
    assertThat(refused.exitCode()).isEqualTo(5);
    assertThat(refused.err()).contains("--kill");

    Fleet.Result killed = fleet.kueue("remove-job", String.valueOf(id), "--kill");
    assertThat(killed.exitCode()).as(killed.toString()).isZero();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> ProcessHandle.of(grandchild).map(p -> !p.isAlive()).orElse(true));
    assertThat(job(id).at("/summary/state").asText()).isEqualTo("CANCELED");
  }

  @Test
  void aCommandThatDoesNotExistFailsWithAClearReason() throws Exception {
    Fleet.Result result = fleet.kueue("cmd", "--wait", "no-such-program-xyz");
    assertThat(result.exitCode()).isEqualTo(127);
    long id = Long.parseLong(result.out().lines().findFirst().orElseThrow().trim());
    JsonNode job = job(id);
    assertThat(job.at("/summary/state").asText()).isEqualTo("FINISHED");
    assertThat(job.at("/summary/note").asText()).contains("command not found");
  }

  @Test
  void listJobsFiltersByState() throws Exception {
    long ok = fleet.submit("true");
    long bad = fleet.submit("false");
    waitFor(ok);
    waitFor(bad);

    assertThat(ids(json("list-jobs", "-s", "--json", "-n", "1000")))
        .contains(ok)
        .doesNotContain(bad);
    assertThat(ids(json("list-jobs", "-f", "--json", "-n", "1000")))
        .contains(bad)
        .doesNotContain(ok);
    assertThat(ids(json("list-jobs", "-r", "-p", "--json"))).doesNotContain(ok, bad);
    JsonNode all = json("list-jobs", "--json", "-n", "1000");
    assertThat(ids(all)).contains(ok, bad);
    assertThat(all.at("/stats/succeeded").asLong()).isPositive();
    assertThat(all.at("/stats/failed").asLong()).isPositive();

    Fleet.Result table = fleet.kueue("list-jobs");
    assertThat(table.exitCode()).isZero();
    assertThat(table.out()).contains(String.valueOf(ok)).doesNotContain("\u001b[");
  }

  @Test
  void theFleetIsListedWithItsWorkers() throws Exception {
    JsonNode workers = json("list-workers", "--json");
    assertThat(workers.toString()).contains("alpha", "beta");
    long firstId = workers.findValues("id").getFirst().asLong();
    Fleet.Result show = fleet.kueue("show-worker", String.valueOf(firstId));
    assertThat(show.exitCode()).as(show.toString()).isZero();
    assertThat(fleet.kueue("list-workers").out()).contains("alpha", "beta");
    assertThat(fleet.kueue("show-worker", "99999").exitCode()).isEqualTo(5);
    assertThat(fleet.kueue("show-worker", "beta").out()).contains("beta");
  }

  @Test
  void bashCompletionIsPrinted() throws Exception {
    Fleet.Result result = fleet.kueue("complete", "bash");
    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("complete -F").contains("list-jobs");
  }

  @Test
  void aWrongSecretIsRefusedWithAClearMessage() throws Exception {
    Path config = fleet.config("intruder", "0ECOVQt3DQ-lNAN3MI0MxPG55b6AujscQtEzPRwp8IM", Map.of());
    Fleet.Result result = fleet.kueueWith(config, home, Map.of(), "list-jobs");
    assertThat(result.exitCode()).as(result.toString()).isEqualTo(4);
    assertThat(result.err()).containsIgnoringCase("authentication");
    assertThat(fleet.kueue("list-jobs").exitCode()).isZero();
  }

  @Test
  void garbageOnTheServerPortDoesNotDisturbAnybody() throws Exception {
    Random random = new Random(7);
    for (int i = 0; i < 20; i++) {
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), fleet.port)) {
        byte[] bytes = new byte[1 + random.nextInt(4096)];
        random.nextBytes(bytes);
        OutputStream out = socket.getOutputStream();
        out.write(bytes);
        out.write('\n');
        out.flush();
      } catch (java.io.IOException ignored) {
        // the server may close first: that is the point
      }
    }
    assertThat(fleet.kueue("cmd", "--wait", "true").exitCode()).isZero();
  }

  @Test
  void cleanJobsForgetsSucceededJobsAndWithAllFailedOnes() throws Exception {
    long ok = fleet.submit("true");
    long bad = fleet.submit("false");
    waitFor(ok);
    waitFor(bad);

    assertThat(fleet.kueue("clean-jobs").exitCode()).isZero();
    assertThat(fleet.kueue("show-job", String.valueOf(ok)).exitCode()).isEqualTo(5);
    assertThat(fleet.kueue("show-job", String.valueOf(bad)).exitCode()).isZero();

    assertThat(fleet.kueue("clean-jobs", "--all").exitCode()).isZero();
    assertThat(fleet.kueue("show-job", String.valueOf(bad)).exitCode()).isEqualTo(5);
  }

  private static List<Long> ids(JsonNode list) {
    List<Long> ids = new ArrayList<>();
    list.get("jobs").forEach(j -> ids.add(j.get("id").asLong()));
    return ids;
  }

  private static long[] interval(JsonNode job) {
    return new long[] {
      Instant.parse(job.at("/summary/started").asText()).toEpochMilli(),
      Instant.parse(job.at("/summary/ended").asText()).toEpochMilli()
    };
  }

  private void assertNoOverlapPerWorker(List<Long> ids) throws Exception {
    Map<String, List<long[]>> byWorker = new java.util.HashMap<>();
    for (long id : ids) {
      JsonNode job = job(id);
      byWorker
          .computeIfAbsent(job.at("/summary/worker").asText(), w -> new ArrayList<>())
          .add(interval(job));
    }
    byWorker.values().forEach(EndToEndTest::assertDisjoint);
  }

  private static void assertDisjoint(List<long[]> intervals) {
    intervals.sort((a, b) -> Long.compare(a[0], b[0]));
    for (int i = 1; i < intervals.size(); i++) {
      assertThat(intervals.get(i)[0])
          .as("start of run %d vs end of the previous", i)
          .isGreaterThanOrEqualTo(intervals.get(i - 1)[1]);
    }
  }
}
