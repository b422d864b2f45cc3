package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Scenarios that need a fleet of their own: server restarts, workers with different views. */
class RestartAndVisibilityTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path home;

  @Test
  void aServerRestartKeepsJobsAndResultsAndJobIdsContinue() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      fleet.startWorker("alpha", "");
      long done = fleet.submit("echo", "before restart");
      assertThat(fleet.kueue("wait-job", String.valueOf(done)).exitCode()).isZero();
      Path marker = home.resolve("marker");
      long running = fleet.submit("sh", "-c", "touch " + marker + "; sleep 3; echo survived");
      await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(marker));

      fleet.killServer();
      assertThat(fleet.kueue("list-jobs").exitCode()).isEqualTo(3);
      fleet.startServer(Map.of());

      JsonNode before =
          JSON.readTree(fleet.kueue("show-job", String.valueOf(done), "--json").out());
      assertThat(before.at("/stdout/text").asText()).isEqualTo("before restart\n");
      Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(running));
      assertThat(waited.exitCode()).as(waited.toString()).isZero();
      JsonNode survivor =
          JSON.readTree(fleet.kueue("show-job", String.valueOf(running), "--json").out());
      assertThat(survivor.at("/stdout/text").asText()).isEqualTo("survived\n");
      assertThat(survivor.at("/summary/attempt").asInt())
          .as("the job was not run again")
          .isEqualTo(1);
      long after = fleet.submit("true");
      assertThat(after).isGreaterThan(running);
    }
  }

  @Test
  void submissionsAndWaitingRideOutServerKillsAndRestartsWithoutDuplicates() throws Exception {
    // Threads of their own: the common pool may have a single thread on a small machine.
    try (Fleet fleet = new Fleet(home);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      fleet.startServer(Map.of());
      fleet.startWorker("alpha", "");
      Path marker = home.resolve("waited-started");
      Path release = home.resolve("release-waited");
      long waited =
          fleet.submit(
              "sh",
              "-c",
              "touch " + marker + "; while [ ! -e " + release + " ]; do sleep 0.1; done; exit 7");
      await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(marker));
      CompletableFuture<Fleet.Result> waiting =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return fleet.kueueWithin(
                      Duration.ofMinutes(4), home, Map.of(), "wait-job", String.valueOf(waited));
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              },
              threads);
      List<Fleet.Result> submissions = new CopyOnWriteArrayList<>();
      int count = 24;
      CompletableFuture<Void> submitting =
          CompletableFuture.runAsync(
              () -> {
                for (int i = 0; i < count; i++) {
                  submissions.add(kueue(fleet, "cmd", "echo", "submission " + i));
                }
              },
              threads);

      for (int restart = 1; restart <= 3; restart++) {
        int before = 5 * restart;
        await().atMost(Duration.ofSeconds(120)).until(() -> submissions.size() >= before);
        fleet.killServer();
        fleet.startServer(Map.of());
      }
      submitting.get(180, TimeUnit.SECONDS);
      Files.createFile(release);

      assertThat(submissions)
          .as("every submission acknowledged")
          .allSatisfy(result -> assertThat(result.exitCode()).as(result.toString()).isZero());
      List<Long> ids = submissions.stream().map(r -> Long.parseLong(r.out().strip())).toList();
      assertThat(ids).doesNotHaveDuplicates();
      JsonNode all = JSON.readTree(fleet.kueue("list-jobs", "-n", "0", "--json").out());
      assertThat(all.get("jobs")).as("no job created twice").hasSize(count + 1);
      Fleet.Result waitResult = waiting.get(240, TimeUnit.SECONDS);
      assertThat(waitResult.exitCode()).as(waitResult.toString()).isEqualTo(7);
      assertThat(waitResult.err()).contains("trying again for up to");
    }
  }

  private static Fleet.Result kueue(Fleet fleet, String... args) {
    try {
      return fleet.kueue(args);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aJobWhoseDirectoryOnlyOneWorkerCanSeeRunsOnThatWorker() throws Exception {
    assumeThat(Files.isExecutable(Path.of("/usr/bin/unshare"))).isTrue();
    Path shared = Files.createDirectories(home.resolve("only-on-alpha/project"));
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      // beta runs in a mount namespace where a fresh tmpfs hides only-on-alpha.
      Path config =
          fleet.config("worker-beta", Fleet.SECRET, Map.of("worker", "worker_name = \"beta\""));
      Process probe = new ProcessBuilder("unshare", "-m", "true").start();
      assumeThat(probe.waitFor()).as("mount namespaces are available").isZero();
      fleet.start(
          "worker-beta",
          "kueue.dist.HiddenDirectoryWorker",
          home.resolve("only-on-alpha").toString(),
          config.toString());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> fleet.kueue("list-workers", "--json").out().contains("beta"));

      long declinedEverywhere = fleet.submit("true");
      Fleet.Result inHidden = fleet.kueueIn(shared, Map.of(), "cmd", "pwd");
      long id = Long.parseLong(inHidden.out().trim());
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  JSON.readTree(fleet.kueue("show-job", String.valueOf(id), "--json").out())
                      .at("/summary/note")
                      .asText()
                      .contains("declined"));

      fleet.startWorker("alpha", "");
      assertThat(fleet.kueue("wait-job", String.valueOf(id)).exitCode()).isZero();
      JsonNode job = JSON.readTree(fleet.kueue("show-job", String.valueOf(id), "--json").out());
      assertThat(job.at("/summary/worker").asText()).isEqualTo("alpha");
      assertThat(job.toString()).contains("declined");
      assertThat(fleet.kueue("wait-job", String.valueOf(declinedEverywhere)).exitCode()).isZero();
    }
  }
}
