package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import kueue.config.KueueConfig;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResourceProbeTest {
  @TempDir Path dir;

  private static KueueConfig.Worker settings(boolean dynamic, double scale) {
    return new KueueConfig.Worker("", 10, dynamic, scale, Duration.ofSeconds(30), 1 << 20);
  }

  @Test
  void theRealMachineGivesSaneValues() {
    ResourceProbe probe = new ResourceProbe(settings(true, 1.0));

    SystemInfo system = probe.systemInfo();

    assertThat(system.hostname()).isNotBlank();
    assertThat(system.os()).isNotBlank();
    assertThat(system.kernel()).isNotBlank();
    assertThat(system.cores()).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(system.totalRamMb()).isPositive();
    assertThat(system.availableRamMb()).isBetween(1L, system.totalRamMb());
    assertThat(system.load1()).isNotNegative();
    assertThat(system.load15()).isNotNegative();
    assertThat(system.uptimeSeconds()).isPositive();
    assertThat(system.cpuMhz()).isNotNegative();
    WorkerCapacity capacity = probe.capacity(system);
    assertThat(capacity.total()).isEqualTo(new Resources(10, system.cores(), system.totalRamMb()));
    assertThat(capacity.availableRamMb()).isEqualTo(system.availableRamMb());
  }

  @Test
  void valuesAreReadFromProcAndOsRelease() throws IOException {
    Path proc = fakeProc("2.5 1.25 0.75 1/85 4510\n");
    Path osRelease = dir.resolve("os-release");
    Files.writeString(
        osRelease, "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");

    SystemInfo system = new ResourceProbe(settings(true, 1.0), proc, osRelease).systemInfo();

    assertThat(system.hostname()).isEqualTo("node-7");
    assertThat(system.os()).isEqualTo("Debian GNU/Linux 12 (bookworm)");
    assertThat(system.kernel()).isEqualTo("6.1.0-test");
    assertThat(system.cpuMhz()).isEqualTo(2000.0);
    assertThat(system.totalRamMb()).isEqualTo(16384);
    assertThat(system.availableRamMb()).isEqualTo(8192);
    assertThat(system.load1()).isEqualTo(2.5);
    assertThat(system.load5()).isEqualTo(1.25);
    assertThat(system.load15()).isEqualTo(0.75);
    assertThat(system.uptimeSeconds()).isEqualTo(12345);
  }

  @Test
  void dynamicModeCountsScaledLoadRoundedUpAndAvailableRam() throws IOException {
    Path proc = fakeProc("2.5 1.0 0.5 1/85 4510\n");
    ResourceProbe probe = new ResourceProbe(settings(true, 1.5), proc, dir.resolve("none"));

    WorkerCapacity capacity = probe.capacity(probe.systemInfo());

    assertThat(capacity.loadCpus()).isEqualTo(4); // ceil(2.5 * 1.5)
    assertThat(capacity.availableRamMb()).isEqualTo(8192);
    assertThat(capacity.total().slots()).isEqualTo(10);
    assertThat(capacity.total().ramMb()).isEqualTo(16384);
  }

  @Test
  void measuredUseReplacesTheLoadAverage() throws IOException {
    Path proc = fakeProc("7.0 1.0 0.5 1/85 4510\n");
    ResourceProbe probe = new ResourceProbe(settings(true, 1.5), proc, dir.resolve("none"));
    WorkerUsage usage = new WorkerUsage(1.1, 3000, 1.9, 500, 5);

    WorkerCapacity capacity = probe.capacity(probe.systemInfo(), usage);

    assertThat(capacity.loadCpus()).isEqualTo(2); // round(1.1 * 1.5), the load of 7 left aside
    assertThat(capacity.usage()).isEqualTo(usage);
    assertThat(capacity.availableRamMb()).isEqualTo(8192);
    assertThat(probe.capacity(probe.systemInfo(), new WorkerUsage(0.3, 0, 2, 0, 5)).loadCpus())
        .isZero();
  }

  @Test
  void staticModeIgnoresMeasuredUse() throws IOException {
    Path proc = fakeProc("7.0 1.0 0.5 1/85 4510\n");
    ResourceProbe probe = new ResourceProbe(settings(false, 1.0), proc, dir.resolve("none"));

    WorkerCapacity capacity =
        probe.capacity(probe.systemInfo(), new WorkerUsage(1.1, 3000, 1.9, 500, 5));

    assertThat(capacity.loadCpus()).isZero();
    assertThat(capacity.usage()).isNull();
  }

  @Test
  void staticModeIgnoresLoadAndOffersAllRam() throws IOException {
    Path proc = fakeProc("7.0 1.0 0.5 1/85 4510\n");
    ResourceProbe probe = new ResourceProbe(settings(false, 1.0), proc, dir.resolve("none"));

    WorkerCapacity capacity = probe.capacity(probe.systemInfo());

    assertThat(capacity.loadCpus()).isZero();
    assertThat(capacity.availableRamMb()).isEqualTo(16384);
  }

  @Test
  void missingFilesGiveZerosInsteadOfErrors() {
    Path empty = dir.resolve("no-proc");

    ResourceProbe probe =
        new ResourceProbe(settings(true, 1.0), empty, empty.resolve("os-release"));
    SystemInfo system = probe.systemInfo();

    assertThat(system.cpuMhz()).isZero();
    assertThat(system.totalRamMb()).isZero();
    assertThat(system.availableRamMb()).isZero();
    assertThat(system.load1()).isZero();
    assertThat(system.uptimeSeconds()).isZero();
    assertThat(system.hostname()).isNotBlank();
    assertThat(system.cores()).isPositive();
    assertThat(probe.capacity(system).loadCpus()).isZero();
  }

  @Test
  void garbageInProcFilesGivesZeros() throws IOException {
    Path proc = fakeProc("not numbers at all\n");
    Files.writeString(proc.resolve("meminfo"), "MemTotal: lots kB\nMemAvailable:\n");

    SystemInfo system = new ResourceProbe(settings(true, 1.0), proc, dir.resolve("x")).systemInfo();

    assertThat(system.load1()).isZero();
    assertThat(system.totalRamMb()).isZero();
    assertThat(system.availableRamMb()).isZero();
  }

  private Path fakeProc(String loadavg) throws IOException {
    Path proc = Files.createDirectories(dir.resolve("proc"));
    Files.createDirectories(proc.resolve("sys/kernel"));
    Files.writeString(proc.resolve("sys/kernel/hostname"), "node-7\n");
    Files.writeString(proc.resolve("sys/kernel/osrelease"), "6.1.0-test\n");
    Files.writeString(proc.resolve("loadavg"), loadavg);
    Files.writeString(proc.resolve("uptime"), "12345.67 20000.00\n");
    Files.writeString(
        proc.resolve("meminfo"),
        "MemTotal:       16777216 kB\nMemFree:         1000 kB\nMemAvailable:    8388608 kB\n");
    Files.writeString(
        proc.resolve("cpuinfo"),
        "processor\t: 0\ncpu MHz\t\t: 1800.000\n\nprocessor\t: 1\ncpu MHz\t\t: 2200.000\n");
    return proc;
  }
}
