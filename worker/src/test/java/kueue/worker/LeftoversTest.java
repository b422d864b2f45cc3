package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import kueue.model.AttemptRef;
import kueue.model.JobSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What jobs leave running, ended for real (the worker's shell runs it the same way). */
class LeftoversTest {
  private static final Duration GRACE = Duration.ofMillis(500);

  @TempDir Path dir;

  private final Leftovers leftovers = new Leftovers(Subreaper.become().orElseThrow(), GRACE);
  private final ProcessRunner runner = new ProcessRunner("w", 1024, Duration.ofSeconds(1));
  private final List<Long> started = new ArrayList<>();

  @AfterEach
  void endWhatIsLeft() {
    started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  private RunningJob start(long jobId, String script) {
    JobSpec spec = Jobs.command(dir, "sh", "-c", script);
    RunningJob job =
        leftovers.start(() -> runner.start(new AttemptRef(jobId, 1), spec), RunningJob::pid);
    started.add(job.pid());
    return job;
  }

  private List<Long> pids(String file) throws Exception {
    List<Long> pids = Files.readAllLines(dir.resolve(file)).stream().map(Long::parseLong).toList();
    started.addAll(pids);
    return pids;
  }

  private static boolean gone(long pid) {
    return !Files.exists(Path.of("/proc", Long.toString(pid)));
  }

  @Test
  void aJobThatLeftNothingEndsAtOnce() throws Exception {
    RunningJob job = start(1, "echo x");
    job.result().get(10, TimeUnit.SECONDS);

    assertThat(leftovers.jobEnded(1, job.pid(), false)).isZero();
  }

  @Test
  void aLeftoverThatIgnoresTermIsKilledAfterTheGraceAndCollected() throws Exception {
    RunningJob job =
        start(2, "setsid sh -c 'trap \"\" TERM; while :; do sleep 1; done' & echo $! > left");
    job.result().get(10, TimeUnit.SECONDS);
    long stubborn = pids("left").getFirst();

    long before = System.nanoTime();
    int ended = leftovers.jobEnded(2, job.pid(), false);

    assertThat(ended).isGreaterThanOrEqualTo(1);
    assertThat(Duration.ofNanos(System.nanoTime() - before)).isGreaterThanOrEqualTo(GRACE);
    assertThat(gone(stubborn)).as("killed and collected, no zombie").isTrue();
  }

  @Test
  void whatARunningJobLeftIsNotTouchedWhenAnotherJobEnds() throws Exception {
    RunningJob running = start(3, "(sleep 300 & echo $! > other); sleep 300");
    RunningJob ending = start(4, "setsid sleep 300 & echo $! > mine");
    ending.result().get(10, TimeUnit.SECONDS);
    await(() -> Files.exists(dir.resolve("other")) && Files.exists(dir.resolve("mine")));
    long other = pids("other").getFirst();
    long mine = pids("mine").getFirst();

    assertThat(leftovers.jobEnded(4, ending.pid(), false)).isEqualTo(1);

    assertThat(gone(mine)).isTrue();
    assertThat(gone(other)).isFalse();
    running.kill();
    running.result().get(10, TimeUnit.SECONDS);
    assertThat(leftovers.jobEnded(3, running.pid(), false)).isZero();
  }

  private static void await(java.util.concurrent.Callable<Boolean> condition) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(condition);
  }
}
