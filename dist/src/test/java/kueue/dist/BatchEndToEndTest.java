package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batches (kueue cmd --array / --file) through a real server and one worker with 4 slots, driven by
 * the kueue command. Jobs reserve no CPU (-c 0) so that 4 run at once whatever the machine has.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern SUBMITTED =
      Pattern.compile("batch (\\d+): jobs? (\\d+)(?:-(\\d+))?");

  @TempDir static Path home;
  private Fleet fleet;

  @BeforeAll
  void startFleet() throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of());
    fleet.startWorker("solo", "worker_max_parallel_jobs = 4");
  }

  @AfterAll
  void stopFleet() {
    fleet.close();
  }

  private Fleet.Result ok(Fleet.Result result) {
    assertThat(result.exitCode()).as(result.toString()).isZero();
    return result;
  }

  private JsonNode json(String... args) throws Exception {
    return JSON.readTree(ok(fleet.kueue(args)).out());
  }

  /** The batch id from "batch B: jobs B-L" on the first line of stdout. */
  private static long batchOf(Fleet.Result result) {
    Matcher matcher = SUBMITTED.matcher(result.out().lines().findFirst().orElse(""));
    assertThat(matcher.lookingAt()).as(result.toString()).isTrue();
    return Long.parseLong(matcher.group(1));
  }

  private JsonNode batchStats(long batch) throws Exception {
    return json("list-jobs", "--batch", String.valueOf(batch), "-n", "1", "--json").get("stats");
  }

  private long storedJobs() throws Exception {
    JsonNode stats = json("list-jobs", "--json", "-n", "1").get("stats");
    long total = 0;
    for (String state :
        new String[] {"pending", "offered", "running", "succeeded", "failed", "canceled"}) {
      total += stats.get(state).asLong();
    }
    return total;
  }

  @Test
  void twoThousandJobsOfAnArrayRunThroughTheFleetAndAllSucceed() throws Exception {
    Fleet.Result submitted = ok(fleet.kueue("cmd", "--array", "1-2000", "-c", "0", "true"));
    long batch = batchOf(submitted);
    assertThat(submitted.out().strip())
        .isEqualTo("batch " + batch + ": jobs " + batch + "-" + (batch + 1999));

    await()
        .atMost(Duration.ofMinutes(4))
        .pollInterval(Duration.ofSeconds(2))
        .until(() -> batchStats(batch).get("succeeded").asLong() == 2000);

    Fleet.Result waited = fleet.kueue("wait-job", "--batch", String.valueOf(batch));
    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    assertThat(waited.err()).isEqualTo("batch " + batch + ": all 2000 jobs succeeded\n");
    JsonNode listed = json("list-jobs", "--batches", "--json", "-n", "0");
    assertThat(listed.toString()).contains("\"batch\":" + batch);
  }

  @Test
  void eachJobSeesItsIndexAndBatchAndWritesToFilesNamedAfterThem() throws Exception {
    Path dir = Files.createDirectories(home.resolve("array"));
    Fleet.Result result =
        fleet.kueueIn(
            dir,
            Map.of(),
            "cmd",
            "--array",
            "1-3,10",
            "-c",
            "0",
            "-o",
            "out-%a.txt",
            "-e",
            "err-%j-%a-100%%.txt",
            "--wait",
            "sh",
            "-c",
            "echo \"$KUEUE_ARRAY_INDEX of $KUEUE_ARRAY_ID\"; echo oops >&2");

    assertThat(result.exitCode()).as(result.toString()).isZero();
    long batch = batchOf(result);
    assertThat(result.err()).isEqualTo("batch " + batch + ": all 4 jobs succeeded\n");
    assertThat(Files.readString(dir.resolve("out-1.txt"))).isEqualTo("1 of " + batch + "\n");
    assertThat(Files.readString(dir.resolve("out-10.txt"))).isEqualTo("10 of " + batch + "\n");
    long lastJob = batch + 3;
    assertThat(Files.readString(dir.resolve("err-" + lastJob + "-10-100%.txt")))
        .isEqualTo("oops\n");
    JsonNode job = json("show-job", String.valueOf(lastJob), "--json");
    assertThat(job.at("/summary/batch").asLong()).isEqualTo(batch);
    assertThat(job.at("/summary/arrayIndex").asLong()).isEqualTo(10);
    assertThat(job.at("/spec/stdout").asText()).isEqualTo("out-10.txt");
    assertThat(ok(fleet.kueue("show-job", String.valueOf(lastJob))).out())
        .contains(batch + ", index 10");
  }

  @Test
  void aFileRunsEachCommandLineInAShellAndWaitingExitsLikeTheFirstFailure() throws Exception {
    Path dir = Files.createDirectories(home.resolve("file"));
    Files.writeString(
        dir.resolve("commands.txt"),
        """
        # a small sweep
        echo first > line-$KUEUE_ARRAY_INDEX.txt

          # an indented comment
        echo third > line-$KUEUE_ARRAY_INDEX.txt; exit 3
        echo fourth | tr a-z A-Z > line-$KUEUE_ARRAY_INDEX.txt
        """);

    Fleet.Result result =
        fleet.kueueIn(dir, Map.of(), "cmd", "--file", "commands.txt", "-c", "0", "--wait");

    assertThat(result.exitCode()).as(result.toString()).isEqualTo(3);
    long batch = batchOf(result);
    assertThat(Files.readString(dir.resolve("line-2.txt"))).isEqualTo("first\n");
    assertThat(Files.readString(dir.resolve("line-5.txt"))).isEqualTo("third\n");
    assertThat(Files.readString(dir.resolve("line-6.txt"))).isEqualTo("FOURTH\n");
    assertThat(result.err())
        .isEqualTo(
            "batch "
                + batch
                + ": 2 of 3 jobs succeeded, 1 failed; first: job "
                + (batch + 1)
                + " [index 5] failed with exit code 3\n");
  }

  @Test
  void aBadLineOrABadSharedSettingQueuesNothing() throws Exception {
    Path dir = Files.createDirectories(home.resolve("bad"));
    Files.write(
        dir.resolve("commands.txt"),
        "echo fine\necho \0broken\necho never\n".getBytes(StandardCharsets.UTF_8));
    long before = storedJobs();

    Fleet.Result badLine = fleet.kueueIn(dir, Map.of(), "cmd", "--file", "commands.txt");
    Fleet.Result unknownResource =
        fleet.kueue("cmd", "--array", "1-5", "--resource", "nosuch", "true");

    assertThat(badLine.exitCode()).isEqualTo(2);
    assertThat(badLine.err()).contains("commands.txt line 2 contains a NUL byte");
    assertThat(unknownResource.exitCode()).isEqualTo(5);
    assertThat(unknownResource.err()).contains("unknown global resource 'nosuch'");
    assertThat(storedJobs()).isEqualTo(before);
  }

  @Test
  void aBatchIsRemovedInOneRequestAndWaitingForItEndsWithTheCanceledCode() throws Exception {
    long batch = batchOf(ok(fleet.kueue("cmd", "--array", "1-6", "-c", "0", "sleep", "60")));
    String id = String.valueOf(batch);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> batchStats(batch).get("running").asLong() == 4);
    Fleet.Result table = ok(fleet.kueue("list-jobs", "--batches"));
    assertThat(table.out())
        .containsPattern("(?m)^ *" + batch + "  " + batch + "-" + (batch + 5) + " +2 +4 +0 +0 +0 ");

    Fleet.Result pendingOnly = ok(fleet.kueue("remove-job", "--batch", id));
    Fleet.Result killed = ok(fleet.kueue("remove-job", "--batch", id, "--kill"));
    Fleet.Result waited = fleet.kueue("wait-job", "--batch", id);

    assertThat(pendingOnly.out())
        .isEqualTo(
            "batch "
                + batch
                + ": canceled 2 jobs; 4 jobs are still running; use --kill to stop"
                + " them\n");
    assertThat(killed.out()).isEqualTo("batch " + batch + ": canceled 4 jobs\n");
    assertThat(waited.exitCode()).isEqualTo(130);
    assertThat(waited.err())
        .startsWith(
            "batch "
                + batch
                + ": 0 of 6 jobs succeeded, 6 canceled; first: job "
                + batch
                + " [index 1] was canceled");
    assertThat(batchStats(batch).get("canceled").asLong()).isEqualTo(6);
  }
}
