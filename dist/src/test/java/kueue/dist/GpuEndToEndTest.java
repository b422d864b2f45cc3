package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPUs through a real server and a worker that finds four A100s with the stand-in nvidia-smi of the
 * worker module's test resources (worker/src/test/resources/nvidia-smi), driven by the kueue
 * command. Jobs reserve no CPU or RAM so that only the GPUs limit them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path STAND_IN = Path.of("../worker/src/test/resources/nvidia-smi");
  private static final String GPU_2_PROCESS =
      "GPU-3fac4b5e-7d90-1c3d-5e7f-901b3c5d7e9f, 4194303, /usr/bin/python3, 2048\n";

  @TempDir static Path home;
  private Fleet fleet;
  private Path fixture;
  private Path seen;

  @BeforeAll
  void startFleet() throws Exception {
    Path bin = Files.createDirectories(home.resolve("gpu-bin"));
    Files.copy(
        STAND_IN.resolve("nvidia-smi"),
        bin.resolve("nvidia-smi"),
        StandardCopyOption.REPLACE_EXISTING);
    Files.setPosixFilePermissions(
        bin.resolve("nvidia-smi"), PosixFilePermissions.fromString("rwxr-xr-x"));
    fixture = Files.createDirectories(home.resolve("gpu-fixture"));
    Files.copy(STAND_IN.resolve("a100x4/gpus.csv"), fixture.resolve("gpus.csv"));
    seen = Files.createDirectories(home.resolve("seen"));
    fleet = new Fleet(home);
    fleet.startServer(Map.of());
    fleet.startWorker(
        "gpubox",
        "worker_max_parallel_jobs = 20",
        Map.of(
            "PATH",
            bin + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"),
            "NVIDIA_SMI_FIXTURE",
            fixture.toString()));
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

  /** Submits a batch and waits for all its jobs; returns the job ids. */
  private List<Long> runBatch(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("cmd", "--json", "-c", "0", "-r", "0"));
    command.addAll(List.of(args));
    JsonNode submitted = json(command.toArray(String[]::new));
    long batch = submitted.get("batch").asLong();
    Fleet.Result waited = fleet.kueue("wait-job", "--batch", String.valueOf(batch));
    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    List<Long> ids = new ArrayList<>();
    submitted.get("ids").forEach(id -> ids.add(id.asLong()));
    return ids;
  }

  /** What each job wrote into seen/ID: its job id followed by the variables it saw. */
  private Map<Long, String> seenBy(List<Long> jobs) throws Exception {
    Map<Long, String> lines = new HashMap<>();
    for (long job : jobs) {
      lines.put(job, Files.readString(seen.resolve(String.valueOf(job))).strip());
    }
    return lines;
  }

  private List<Integer> gpusOf(long job) throws Exception {
    List<Integer> gpus = new ArrayList<>();
    json("show-job", "--json", String.valueOf(job))
        .get("devices")
        .path("gpus")
        .forEach(index -> gpus.add(index.asInt()));
    return gpus;
  }

  @Test
  void eightOneGpuJobsNeverShareAGpuAndEachSeesExactlyItsOwn() throws Exception {
    Path locks = Files.createDirectories(home.resolve("locks"));
    String script =
        "d=$CUDA_VISIBLE_DEVICES; mkdir \""
            + locks
            + "/$d\" || exit 3; echo \"$d $CUDA_DEVICE_ORDER $KUEUE_GPUS\" > \""
            + seen
            + "/$KUEUE_JOB_ID\"; sleep 1; rmdir \""
            + locks
            + "/$d\"";

    List<Long> jobs = runBatch("--array", "1-8", "--gpus", "1", "sh", "-c", script);

    Map<Long, String> lines = seenBy(jobs);
    for (long job : jobs) {
      List<Integer> gpus = gpusOf(job);
      assertThat(gpus).as("GPUs of job %d", job).hasSize(1);
      assertThat(lines.get(job)).isEqualTo(gpus.getFirst() + " PCI_BUS_ID 1");
    }
  }

  @Test
  void halfGpuJobsPackTwoPerGpu() throws Exception {
    String script = "echo \"$CUDA_VISIBLE_DEVICES $KUEUE_GPUS\" > \"" + seen + "/$KUEUE_JOB_ID\"";

    List<Long> jobs = runBatch("--array", "1-8", "-g", "0.5", "sh", "-c", script + "; sleep 2");

    Map<String, Integer> perGpu = new HashMap<>();
    seenBy(jobs).values().forEach(line -> perGpu.merge(line, 1, Integer::sum));
    assertThat(perGpu)
        .containsExactlyInAnyOrderEntriesOf(Map.of("0 0.5", 2, "1 0.5", 2, "2 0.5", 2, "3 0.5", 2));
  }

  @Test
  void aJobWithoutGpusSeesNone() throws Exception {
    String script = "echo \"[${CUDA_VISIBLE_DEVICES-unset}]\" > \"" + seen + "/$KUEUE_JOB_ID\"";
    List<Long> jobs = runBatch("--array", "1", "sh", "-c", script);

    assertThat(seenBy(jobs).values()).containsExactly("[]");
  }

  @Test
  void aGpuWithAnotherProcessIsLeftAloneUntilTheProcessEnds() throws Exception {
    Files.writeString(fixture.resolve("apps.csv"), GPU_2_PROCESS);
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> fleet.kueue("list-workers").out().contains(" 3/4 "));
      String id = json("list-workers", "--json").at("/workers/0/id").asText();
      Fleet.Result worker = ok(fleet.kueue("show-worker", id));
      assertThat(worker.out())
          .contains("GPU 2  NVIDIA A100-SXM4-40GB")
          .contains("someone else's: used outside Kueue")
          .contains("pid 4194303 (python3)");

      long job =
          fleet.submit(
              "-c",
              "0",
              "-r",
              "0",
              "-g",
              "4",
              "sh",
              "-c",
              "echo \"$CUDA_VISIBLE_DEVICES\" > \"" + seen + "/$KUEUE_JOB_ID\"");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  fleet
                      .kueue("show-job", String.valueOf(job))
                      .out()
                      .contains("needs 4 free GPUs; gpubox has 3 free of 4, GPU 2 is used"));
      assertThat(json("show-job", "--json", String.valueOf(job)).at("/summary/state").asText())
          .isEqualTo("PENDING");

      Files.delete(fixture.resolve("apps.csv"));
      ok(fleet.kueue("wait-job", String.valueOf(job)));
      assertThat(seenBy(List.of(job)).get(job)).isEqualTo("0,1,2,3");
    } finally {
      Files.deleteIfExists(fixture.resolve("apps.csv"));
    }
  }

  @Test
  void theAssignmentOfARunningJobSurvivesAServerRestart() throws Exception {
    Path release = home.resolve("release-restart");
    long first =
        fleet.submit(
            "-c",
            "0",
            "-r",
            "0",
            "-g",
            "2",
            "sh",
            "-c",
            "while [ ! -e \"" + release + "\" ]; do sleep 0.2; done");
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  json("show-job", "--json", String.valueOf(first))
                      .at("/summary/state")
                      .asText()
                      .equals("RUNNING"));
      List<Integer> before = gpusOf(first);

      fleet.killServer();
      fleet.startServer(Map.of());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> fleet.kueue("list-workers").out().contains("gpubox"));

      assertThat(gpusOf(first)).isEqualTo(before);
      long second =
          fleet.submit(
              "-c",
              "0",
              "-r",
              "0",
              "-g",
              "2",
              "sh",
              "-c",
              "echo \"$CUDA_VISIBLE_DEVICES\" > \"" + seen + "/$KUEUE_JOB_ID\"");
      ok(fleet.kueue("wait-job", String.valueOf(second)));
      List<Integer> others = gpusOf(second);
      assertThat(others).hasSize(2).doesNotContainAnyElementsOf(before);
    } finally {
      Files.writeString(release, "");
    }
    ok(fleet.kueue("wait-job", String.valueOf(first)));
  }
}
