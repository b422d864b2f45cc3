package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import kueue.model.WorkerUsage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsageMonitorTest {
  @TempDir Path dir;

  private Process worker;
  private Process other;

  @AfterEach
  void endProcesses() {
    for (Process process : new Process[] {worker, other}) {
      if (process != null) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
      }
    }
  }

  private static Process start(String script) throws IOException {
    return new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
  }

  @Test
  void theCpuLineAndTheCpusAreReadFromStat() throws IOException {
    MachineUsage.CpuTicks ticks =
        UsageMonitor.cpuTicks(
            List.of(
                "cpu  100 2 30 1000 4 5 6 7 50 0",
                "cpu0 50 1 15 500 2 2 3 3 25 0",
                "cpu1 50 1 15 500 2 3 3 4 25 0",
                "intr 12345"));

    assertThat(ticks).isEqualTo(new MachineUsage.CpuTicks(143, 1154, 2));
  }

  @Test
  void anUnreadableProcMeasuresNothing() throws IOException {
    Path proc = dir.resolve("proc");
    Files.createDirectories(proc);
    Files.writeString(proc.resolve("stat"), "garbage\n");
    UsageMonitor monitor = new UsageMonitor(proc, ProcessHandle.current().pid());

    monitor.sample(0);
    monitor.sample(1_000_000_000L);

    assertThat(monitor.current()).isNull();
  }

  @Test
  void theWorkersProcessTreeIsKueuesAndEverythingElseIsOthers() throws IOException {
    // A stand-in worker whose child burns a CPU, and a busy program that is not under it.
    worker = start("(while :; do :; done); :");
    other = start("while :; do :; done");
    UsageMonitor monitor = new UsageMonitor(Path.of("/proc"), worker.pid());

    await().atMost(Duration.ofSeconds(10)).until(() -> worker.descendants().findAny().isPresent());
    assertThat(monitor.read().kueue())
        .anySatisfy(process -> assertThat(process.parentPid()).isEqualTo(worker.pid()))
        .noneSatisfy(process -> assertThat(process.pid()).isEqualTo(other.pid()));

    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () -> {
              monitor.sample(System.nanoTime());
              WorkerUsage usage = monitor.current();
              assertThat(usage).isNotNull();
              assertThat(usage.windowSeconds()).isGreaterThan(1);
              // The stand-in waits while its child burns: the child's CPU is counted as Kueue's.
              // Thresholds are low: on a machine others use too, each loop may get little.
              assertThat(usage.kueueCpus()).isGreaterThan(0.1);
              assertThat(usage.othersCpus()).isGreaterThan(0.1);
              assertThat(usage.kueueRamMb()).isPositive();
            });
  }
}
