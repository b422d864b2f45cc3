package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Time limits and retries through a real server and worker, driven by the kueue command: a job
 * stopped at its limit ends as timed out and {@code --wait} exits 124; a job that fails twice
 * succeeds on its third attempt; one that keeps failing ends failed with its last exit code.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TimeLimitsAndRetriesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Short, so that a job that ignores TERM is killed quickly; the default is 30 s. */
  private static final int GRACE_SECONDS = 3;

  @TempDir static Path home;
  private Fleet fleet;

  @BeforeAll
  void startFleet() throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of());
    fleet.startWorker(
        "solo", "worker_max_parallel_jobs = 4\ntime_limit_grace_seconds = " + GRACE_SECONDS);
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

  /** The "ended" lines of the job's history, as "attempt N: detail". */
  private List<String> endings(long id) throws Exception {
    List<String> endings = new ArrayList<>();
    for (JsonNode event : json("show-job", String.valueOf(id), "--json").get("history")) {
      if (event.get("what").asText().equals("ended")) {
        endings.add(
            "attempt " + event.get("attempt").asInt() + ": " + event.get("detail").asText());
      }
    }
    return endings;
  }

  @Test
  void aRetryThatFallsDueWhileTheServerIsDownRunsOnceItIsBack() throws Exception {
    Path dir = Files.createDirectories(home.resolve("restart"));
    long id =
        Long.parseLong(
            fleet
                .kueueIn(
                    dir,
                    Map.of(),
                    "cmd",
                    "-c",
                    "0",
                    "--retries",
                    "1",
                    "--retry-delay",
                    "3s",
                    "sh",
                    "-c",
                    "if [ -e ran ]; then echo second; else touch ran; exit 4; fi")
                .out()
                .strip());
    await().atMost(Duration.ofSeconds(30)).until(() -> endings(id).size() == 1);
    Instant failed = Instant.now();

    fleet.killServer();
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> Instant.now().isAfter(failed.plusSeconds(4)));
    fleet.startServer(Map.of());

    Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));
    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    assertThat(endings(id))
        .containsExactly("attempt 1: exit 4; retry 1 of 1 in 3s", "attempt 2: exit 0");
  }

  @Test
  void aJobStoppedAtItsTimeLimitEndsAsTimedOutAndWaitExits124() throws Exception {
    // Ignores TERM (its sleeps die, the loop goes on): only the KILL after the grace ends it.
    long stubborn =
        fleet.submit("-c", "0", "-t", "2s", "sh", "-c", "trap '' TERM; while :; do sleep 1; done");

    Instant before = Instant.now();
    Fleet.Result waited = fleet.kueue("cmd", "-c", "0", "--wait", "--time", "2s", "sleep", "600");
    Duration took = Duration.between(before, Instant.now());

    assertThat(waited.exitCode()).as(waited.toString()).isEqualTo(124);
    assertThat(waited.err()).contains("timed out");
    assertThat(took).as("sleep dies of the TERM at 2 s").isLessThan(Duration.ofSeconds(20));
    long id = Long.parseLong(waited.out().strip());
    JsonNode job = json("show-job", String.valueOf(id), "--json").get("summary");
    assertThat(job.get("state").asText()).isEqualTo("TIMED_OUT");
    assertThat(job.get("signal").asInt()).isEqualTo(15);
    long ran =
        Duration.between(
                Instant.parse(job.get("started").asText()),
                Instant.parse(job.get("ended").asText()))
            .toMillis();
    assertThat(ran).isBetween(2_000L, 2_000L + GRACE_SECONDS * 1000L);

    Fleet.Result stubbornEnd = fleet.kueue("wait-job", String.valueOf(stubborn));
    assertThat(stubbornEnd.exitCode()).as(stubbornEnd.toString()).isEqualTo(124);
    JsonNode killed = json("show-job", String.valueOf(stubborn), "--json").get("summary");
    assertThat(killed.get("state").asText()).isEqualTo("TIMED_OUT");
    assertThat(killed.get("signal").asInt()).as("killed after the grace period").isEqualTo(9);

    JsonNode listed = json("list-jobs", "--timed-out", "--json");
    assertThat(listed.get("stats").get("timedOut").asLong()).isEqualTo(2);
    assertThat(listed.get("jobs")).hasSize(2);
  }

  @Test
  void aJobThatFailsTwiceSucceedsOnItsThirdAttemptAndOneOutOfRetriesFails() throws Exception {
    Path dir = Files.createDirectories(home.resolve("retries"));
    // Counts its attempts in a file and succeeds on the third.
    String thirdTime =
        "n=$(cat attempts 2>/dev/null || echo 0); n=$((n+1)); echo $n > attempts;"
            + " echo attempt $n; [ $n -ge 3 ]";
    long hopeless =
        Long.parseLong(
            fleet
                .kueueIn(
                    dir,
                    Map.of(),
                    "cmd",
                    "-c",
                    "0",
                    "--retries",
                    "2",
                    "--retry-delay",
                    "1s",
                    "sh",
                    "-c",
                    "exit 7")
                .out()
                .strip());

    Fleet.Result third =
        fleet.kueueIn(
            dir, Map.of(), "cmd", "-c", "0", "--retries", "3", "--wait", "sh", "-c", thirdTime);

    assertThat(third.exitCode()).as(third.toString()).isZero();
    assertThat(Files.readString(dir.resolve("attempts")).strip()).isEqualTo("3");
    long id = Long.parseLong(third.out().strip());
    assertThat(endings(id))
        .containsExactly(
            "attempt 1: exit 1; retry 1 of 3 follows",
            "attempt 2: exit 1; retry 2 of 3 follows",
            "attempt 3: exit 0");
    assertThat(json("show-job", String.valueOf(id), "--json").get("stdout").get("text").asText())
        .isEqualTo("attempt 3\n");
    // Each attempt's output is kept: the last one with a header naming it, an earlier one asked
    // for.
    assertThat(fleet.kueue("log", String.valueOf(id)).out())
        .matches("\\[kueue: attempt 3 on \\S+, exit 0]\nattempt 3\n");
    assertThat(fleet.kueue("log", "--attempt", "1", String.valueOf(id)).out())
        .matches("\\[kueue: attempt 1 on \\S+, exit 1]\nattempt 1\n");

    Fleet.Result failed = fleet.kueue("wait-job", String.valueOf(hopeless));
    assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(7);
    assertThat(endings(hopeless)).hasSize(3).last().isEqualTo("attempt 3: exit 7");
    assertThat(endings(hopeless).getFirst()).isEqualTo("attempt 1: exit 7; retry 1 of 2 in 1s");
  }
}
