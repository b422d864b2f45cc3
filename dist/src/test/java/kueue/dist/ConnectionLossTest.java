package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.protocol.LoopbackRelay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers that lose the server, or are lost, as real processes on loopback, with the network
 * between a worker and the server in the test's hands ({@link LoopbackRelay}). The rule under test:
 * nothing is lost, and no job ever runs twice at the same time. Jobs log their own runs ("start",
 * then "end" or "killed", with the time in nanoseconds), independently of Kueue.
 */
class ConnectionLossTest {

  /** worker_timeout_seconds in every config the fleet writes. */
  private static final long TIMEOUT_SECONDS = 5;

  private static final Duration WAIT = Duration.ofSeconds(40);

  @TempDir Path home;
  private Fleet fleet;
  private LoopbackRelay proxy;
  private final Map<String, Process> workers = new LinkedHashMap<>();

  @AfterEach
  void stop() throws IOException {
    if (proxy != null) {
      proxy.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  private void startServer(String serverSettings) throws Exception {
    fleet = new Fleet(home);
    fleet.startServer(Map.of("server", serverSettings));
    proxy = LoopbackRelay.forwardingBytes(fleet.port);
  }

  /** Starts a worker, through the proxy or straight to the server, and waits until it is there. */
  private Process startWorker(String name, boolean viaProxy) throws Exception {
    Path config =
        fleet.config(
            "worker-" + name, Fleet.SECRET, Map.of("worker", "worker_name = \"" + name + "\""));
    if (viaProxy) {
      Files.writeString(
          config,
          Files.readString(config)
              .replace("server_port = " + fleet.port, "server_port = " + proxy.port()));
    }
    Process worker =
        fleet.start("worker-" + name, "kueue.worker.WorkerMain", "-c", config.toString());
    workers.put(name, worker);
    await().atMost(WAIT).until(() -> connected().contains(name));
    return worker;
  }

  private List<String> connected() throws Exception {
    return new QuickClient(fleet).workers();
  }

  private JsonNode job(long id) throws Exception {
    return new QuickClient(fleet).job(id);
  }

  private void awaitState(long id, String state) {
    await().atMost(WAIT).until(() -> job(id).at("/summary/state").asText().equals(state));
  }

  /**
   * A job that logs its runs to runs.log; its first run sleeps for the given seconds, later runs
   * for one second. Its stderr goes nowhere: when its worker dies, the shell's "Terminated" message
   * to a pipe nobody reads would kill it with SIGPIPE before it can log its end.
   */
  private long submitLoggedJob(String seconds) throws Exception {
    return fleet.submit(
        "-e",
        "null",
        "sh",
        "-c",
        "trap 'echo \"killed $$ $(date +%s%N)\" >> runs.log; exit 143' TERM;"
            + " echo \"start $$ $(date +%s%N)\" >> runs.log;"
            + " if [ -e ran-before ]; then t=1; else t="
            + seconds
            + "; touch ran-before; fi;"
            + " sleep $t & wait $!;"
            + " echo \"end $$ $(date +%s%N)\" >> runs.log");
  }

  /** The runs logged so far: per pid, [start, end or killed] in nanoseconds, in start order. */
  private List<long[]> runs() throws IOException {
    Map<Long, long[]> byPid = new LinkedHashMap<>();
    Path log = home.resolve("runs.log");
    for (String line : Files.exists(log) ? Files.readAllLines(log) : List.<String>of()) {
      String[] parts = line.split(" ");
      long[] run = byPid.computeIfAbsent(Long.parseLong(parts[1]), pid -> new long[] {-1, -1});
      run[parts[0].equals("start") ? 0 : 1] = Long.parseLong(parts[2]);
    }
    return new ArrayList<>(byPid.values());
  }

  private static void assertNoOverlap(List<long[]> runs) {
    for (int i = 1; i < runs.size(); i++) {
      assertThat(runs.get(i - 1)[1]).as("run %d ended", i).isPositive();
      assertThat(runs.get(i)[0])
          .as("run %d started only after run %d was over", i + 1, i)
          .isGreaterThanOrEqualTo(runs.get(i - 1)[1]);
    }
  }

  @Test
  void aWorkerCutOffFromTheServerKillsItsJobBeforeItRunsAgainElsewhere() throws Exception {
    startServer("");
    startWorker("alpha", true);
    long id = submitLoggedJob("60");
    awaitState(id, "RUNNING");
    startWorker("beta", false);

    long frozenAt = System.nanoTime();
    proxy.freeze();
    await().atMost(WAIT).until(() -> runs().size() == 1 && runs().getFirst()[1] > 0);
    long killedAfter = System.nanoTime() - frozenAt;
    Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));

    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    assertThat(killedAfter)
        .as("killed after half the timeout, before the server gives up on the worker")
        .isBetween(
            TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS) / 4,
            TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS - 1));
    JsonNode job = job(id);
    assertThat(job.at("/summary/attempt").asInt()).isEqualTo(2);
    assertThat(job.at("/summary/worker").asText()).isEqualTo("beta");
    assertThat(job.toString()).contains("alpha silent for more than " + TIMEOUT_SECONDS + "s");
    List<long[]> runs = runs();
    assertThat(runs).hasSize(2);
    assertNoOverlap(runs);
    proxy.resume();
    await().atMost(WAIT).until(() -> connected().contains("alpha"));
    assertThat(fleet.log("worker-alpha")).contains("no contact with server");
  }

  @Test
  void aConnectionThatBreaksAndComesBackAtOnceCostsNoJob() throws Exception {
    startServer("");
    startWorker("alpha", true);
    long id = submitLoggedJob("4");
    awaitState(id, "RUNNING");

    proxy.cut();

    Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));
    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    JsonNode job = job(id);
    assertThat(job.at("/summary/attempt").asInt()).as("still the first attempt").isEqualTo(1);
    assertThat(job.toString()).doesNotContain("requeued");
    assertThat(runs()).hasSize(1);
    assertThat(fleet.log("server")).contains("disconnected");
  }

  @Test
  void jobsKeepRunningWhileTheServerIsDownLongerThanHalfTheWorkerTimeout() throws Exception {
    startServer("");
    startWorker("alpha", false);
    long id = submitLoggedJob("8");
    awaitState(id, "RUNNING");

    fleet.killServer();

    await()
        .during(Duration.ofSeconds(TIMEOUT_SECONDS / 2 + 2))
        .atMost(Duration.ofSeconds(TIMEOUT_SECONDS + 5))
        .until(() -> runs().size() == 1 && runs().getFirst()[1] < 0);
    fleet.startServer(Map.of());
    Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));
    assertThat(waited.exitCode()).as(waited.toString()).isZero();
    assertThat(job(id).at("/summary/attempt").asInt()).isEqualTo(1);
    assertThat(runs()).hasSize(1);
  }

  @Test
  void aStoppedWorkersJobRunsElsewhereAtOnce() throws Exception {
    startServer("");
    Process alpha = startWorker("alpha", false);
    long id = submitLoggedJob("30");
    awaitState(id, "RUNNING");
    startWorker("beta", false);

    long stoppedAt = System.nanoTime();
    alpha.destroy(); // SIGTERM
    await().atMost(WAIT).until(() -> runs().size() == 2);

    assertThat(System.nanoTime() - stoppedAt)
        .as("running again well before the worker timeout")
        .isLessThan(TimeUnit.SECONDS.toNanos(TIMEOUT_SECONDS));
    assertThat(alpha.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(alpha.exitValue()).isZero();
    assertNoOverlap(runs());
    JsonNode job = job(id);
    assertThat(job.at("/summary/attempt").asInt()).isEqualTo(2);
    assertThat(job.toString()).contains("worker alpha released it");
    assertThat(fleet.kueue("wait-job", String.valueOf(id)).exitCode()).isZero();
  }

  @Test
  void aJobThatKeepsKillingItsWorkerFailsAfterTheMaximumAttemptsAndNeverOutlivesIt()
      throws Exception {
    startServer("job_max_attempts = 2");
    startWorker("alpha", false);
    startWorker("beta", false);

    // The job SIGKILLs the worker that runs it: its parent, started with posix_spawn or setsid.
    long id =
        fleet.submit(
            "-e",
            "null",
            "sh",
            "-c",
            "trap 'echo \"killed $$ $(date +%s%N)\" >> runs.log; exit 143' TERM;"
                + " echo \"start $$ $(date +%s%N)\" >> runs.log;"
                + " sleep 0.5; kill -9 $PPID; sleep 60 & wait $!");
    Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));

    assertThat(waited.exitCode()).isNotZero();
    JsonNode job = job(id);
    assertThat(job.at("/summary/state").asText()).isEqualTo("FINISHED");
    assertThat(job.at("/summary/note").asText()).startsWith("lost 2 times");
    List<long[]> runs = runs();
    String logs =
        Files.readString(home.resolve("runs.log"))
            + fleet.log("worker-alpha")
            + fleet.log("worker-beta")
            + fleet.log("server");
    assertThat(runs).as("one run per worker, each killed with its worker\n%s", logs).hasSize(2);
    assertThat(runs).as(logs).allMatch(run -> run[1] > 0);
    assertNoOverlap(runs);
    assertThat(workers.values()).noneMatch(Process::isAlive);
  }
}
