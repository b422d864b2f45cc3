package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Every test of {@link ProcessRunnerTest} with jobs started through ProcessBuilder, as on the
 * machines where {@link NativeSpawner#load()} is empty: Linux with a glibc older than 2.34 (RHEL 8,
 * Ubuntu 20.04, Debian 11) or another libc, and other systems.
 */
class ProcessBuilderRunnerTest extends ProcessRunnerTest {
  @Override
  ProcessRunner newRunner(Duration killGrace) {
    return new ProcessRunner(
        "test-worker", 64 * 1024, killGrace, Clock.systemUTC(), Optional.empty());
  }

  /**
   * Here the job is the setsid program until it has made the new session and run the job's program,
   * which may be just after the start returned; posix_spawn makes the session before.
   */
  @Override
  @Test
  void eachJobLeadsAProcessGroupOfItsOwn() throws Exception {
    RunningJob job = runner.start(ATTEMPT, Jobs.command(dir, "sleep", "1000"));
    leftoverPids.add(job.pid());

    await().atMost(Duration.ofSeconds(10)).until(() -> processGroupOf(job.pid()) == job.pid());
    assertThat(processGroupOf(ProcessHandle.current().pid())).isNotEqualTo(job.pid());
    job.kill();
    resultOf(job);
  }
}
