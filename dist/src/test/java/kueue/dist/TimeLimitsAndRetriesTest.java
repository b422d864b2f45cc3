package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

  @Test
  void theLogOfAJobWaitingForItsRetrySaysItWaitsToRunAgain() throws Exception {
    long id =
        fleet.submit(
            "-c", "0", "--retries", "1", "--retry-delay", "10m", "sh", "-c", "echo once; exit 3");
    await().atMost(Duration.ofSeconds(30)).until(() -> endings(id).size() == 1);

    Fleet.Result log = fleet.kueue("log", String.valueOf(id));

    assertThat(log.exitCode()).as(log.toString()).isZero();
    // No section for the attempt still to come.
    assertThat(log.out()).isEqualTo("once\n");
    assertThat(log.err())
        .containsPattern(
            "job "
                + id
                + " waits to run again \\(retry 1 of 1 waits until [^)]+\\); above is what its"
                + " last attempt printed")
        .doesNotContain("has not started yet");
    Fleet.Result noSuchAttempt = fleet.kueue("log", "--attempt", "2", String.valueOf(id));
    assertThat(noSuchAttempt.exitCode()).as(noSuchAttempt.toString()).isEqualTo(5);
    assertThat(noSuchAttempt.out()).isEmpty();
    assertThat(noSuchAttempt.err())
        .contains("job " + id + " has no attempt 2: it has had 1 attempt");

    long held = fleet.submit("--hold", "true");
    assertThat(fleet.kueue("log", String.valueOf(held)).err())
        .contains("job " + held + " has not started yet (held until released");
    assertThat(fleet.kueue("remove-job", String.valueOf(id), String.valueOf(held)).exitCode())
        .isZero();
  }

  /** The pids a job wrote to a file of the fleet's home, one a line, once it is complete. */
  private List<Long> pidsIn(String name) throws Exception {
    Path file = home.resolve(name);
    await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(file));
    return Files.readAllLines(file).stream().map(Long::parseLong).toList();
  }

  private static boolean gone(long pid) {
    return !Files.exists(Path.of("/proc", Long.toString(pid)));
  }

  /**
   * Leaves a sleep in the job's session and one that escaped it by a double fork and setsid, and
   * writes both pids to the file name.
   */
  private static String[] leavingTwoSleeps(String name) {
    return new String[] {
      "sh",
      "-c",
      "sleep 300 & echo $! > "
          + name
          + ".tmp; (setsid sh -c 'sleep 300 & echo $! >> "
          + name
          + ".tmp' &); sleep 0.2; mv "
          + name
          + ".tmp "
          + name
          + "; echo x"
    };
  }

  @Test
  void whatAJobLeavesRunningIsEndedUnlessItAskedToKeepIt() throws Exception {
    List<String> ending = new ArrayList<>(List.of("cmd", "--wait"));
    ending.addAll(List.of(leavingTwoSleeps("ended-pids")));
    Fleet.Result ended = fleet.kueue(ending.toArray(String[]::new));
    assertThat(ended.exitCode()).as(ended.toString()).isZero();
    List<Long> endedPids = pidsIn("ended-pids");
    assertThat(endedPids).hasSize(2);
    // Gone by the time the job counts as ended: its slot is not free before.
    assertThat(endedPids).allMatch(TimeLimitsAndRetriesTest::gone);

    List<String> keeping = new ArrayList<>(List.of("cmd", "--wait", "--keep-children"));
    keeping.addAll(List.of(leavingTwoSleeps("kept-pids")));
    Fleet.Result kept = fleet.kueue(keeping.toArray(String[]::new));
    assertThat(kept.exitCode()).as(kept.toString()).isZero();
    List<Long> keptPids = pidsIn("kept-pids");
    try {
      assertThat(keptPids).hasSize(2).noneMatch(TimeLimitsAndRetriesTest::gone);
    } finally {
      keptPids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
    // Handed to the worker as their subreaper, and collected by it: no zombies are left.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> keptPids.stream().allMatch(TimeLimitsAndRetriesTest::gone));
  }

  @Test
  void aJobSubmittedUnderUmask077MakesPrivateFilesAndASymlinkedOutputIsRefused() throws Exception {
    Fleet.Result submitted =
        fleet.kueueWithUmask(
            "077", "cmd", "--wait", "-o", "private-out.txt", "sh", "-c", "echo x > private.txt");
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(home.resolve("private.txt"))))
        .isEqualTo("rw-------");
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(home.resolve("private-out.txt"))))
        .isEqualTo("rw-------");

    Path victim = home.resolve("victim.txt");
    Files.writeString(victim, "precious\n");
    Files.createSymbolicLink(home.resolve("linked-out.txt"), victim);
    Fleet.Result refused = fleet.kueue("cmd", "--wait", "-o", "linked-out.txt", "echo", "gotcha");
    assertThat(refused.exitCode()).as(refused.toString()).isNotZero();
    long id = Long.parseLong(refused.out().lines().findFirst().orElseThrow().trim());
    assertThat(victim).hasContent("precious");
    Fleet.Result shown = fleet.kueue("show-job", String.valueOf(id));
    assertThat(shown.out()).contains("it is a symbolic link");
  }
}
