package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.config.KueueConfig;
import kueue.model.DeviceProcess;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.WorkerDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuDetectionTest {
  @TempDir Path directory;

  private static String fixture(String name, String file) throws Exception {
    return Files.readString(StandInNvidiaSmi.SOURCE.resolve(name).resolve(file));
  }

  private GpuMonitor monitor(
      String fixture, String gpus, String cudaVisibleDevices, Duration timeout) {
    StandInNvidiaSmi standIn = StandInNvidiaSmi.install(directory, fixture);
    Map<String, String> environment = new HashMap<>(standIn.environment());
    if (cudaVisibleDevices != null) {
      environment.put("CUDA_VISIBLE_DEVICES", cudaVisibleDevices);
    }
    return new GpuMonitor(
        new KueueConfig.Devices(gpus, 1024, true, Map.of()),
        environment,
        timeout,
        Set::of,
        Map::of);
  }

  @Test
  void theGpuQueryReadsEveryModelOfTheFixtures() throws Exception {
    assertThat(NvidiaSmi.gpus(fixture("a100x4", "gpus.csv")))
        .hasSize(4)
        .first()
        .isEqualTo(
            new NvidiaSmi.Gpu(
                0,
                "GPU-1d8a2f3c-5b7e-9a1b-3c5d-7e9f1a3b5c7d",
                "NVIDIA A100-SXM4-40GB",
                40960,
                4,
                0));
    assertThat(NvidiaSmi.gpus(fixture("h100-v100-t4", "gpus.csv")))
        .containsExactly(
            new NvidiaSmi.Gpu(
                0,
                "GPU-b3c4d5e6-f708-4192-a3b4-c5d6e7f80912",
                "NVIDIA H100 80GB HBM3",
                81559,
                0,
                0),
            new NvidiaSmi.Gpu(
                1,
                "GPU-c4d5e6f7-0819-42a3-b4c5-d6e7f8091223",
                "Tesla V100-SXM2-16GB",
                16384,
                2304,
                12),
            new NvidiaSmi.Gpu(
                2, "GPU-d5e6f708-192a-43b4-c5d6-e7f809122334", "Tesla T4", 15360, 0, 0));
    assertThat(NvidiaSmi.processes(fixture("rtx3090-other-user", "apps.csv")))
        .containsExactly(
            new NvidiaSmi.GpuProcess(
                "GPU-7c2e0f41-93ab-5d6e-b1c2-3d4e5f607182",
                4194301,
                "/home/alice/miniconda3/envs/torch/bin/python",
                10750));
    assertThat(NvidiaSmi.gpus("No devices were found\n")).isEmpty();
    assertThat(NvidiaSmi.processes("")).isEmpty();
  }

  @Test
  void aProcessOfAnotherUserMakesItsGpuBusyAndAJobsOwnDoesNot() throws Exception {
    List<NvidiaSmi.Gpu> gpus = NvidiaSmi.gpus(fixture("rtx3090-other-user", "gpus.csv"));
    List<NvidiaSmi.GpuProcess> processes =
        List.of(
            new NvidiaSmi.GpuProcess(gpus.get(0).uuid(), 4711, "/usr/bin/python3", 10750),
            new NvidiaSmi.GpuProcess(gpus.get(1).uuid(), 5000, "train", 300));
    Map<Long, DeviceReport.Owner> owners =
        Map.of(
            4711L, new DeviceReport.Owner(true, "alice", null),
            5000L, new DeviceReport.Owner(true, "ada", 17L));

    List<WorkerDevice> devices =
        DeviceReport.gpus(
            gpus, processes, GpuSelection.of("auto", null), Set.of(1), owners::get, "ada", 1024);

    assertThat(devices.get(0).busy()).isEqualTo("used by another user: alice, pid 4711 (python3)");
    assertThat(devices.get(0).processes())
        .containsExactly(new DeviceProcess(4711, "alice", "/usr/bin/python3", 10750, null));
    assertThat(devices.get(1).busy()).isNull();
    assertThat(devices.get(1).processes().getFirst().jobId()).isEqualTo(17L);
  }

  @Test
  void memoryInUseThatNoJobExplainsMakesAGpuBusyAboveTheThreshold() throws Exception {
    List<NvidiaSmi.Gpu> gpus = NvidiaSmi.gpus(fixture("h100-v100-t4", "gpus.csv"));

    List<WorkerDevice> free =
        DeviceReport.gpus(
            gpus, List.of(), GpuSelection.of("auto", null), Set.of(), pid -> null, "ada", 4096);
    List<WorkerDevice> busy =
        DeviceReport.gpus(
            gpus, List.of(), GpuSelection.of("auto", null), Set.of(), pid -> null, "ada", 1024);
    List<WorkerDevice> heldByAJob =
        DeviceReport.gpus(
            gpus, List.of(), GpuSelection.of("auto", null), Set.of(1), pid -> null, "ada", 1024);

    assertThat(free).extracting(WorkerDevice::busy).containsOnlyNulls();
    assertThat(busy.get(1).busy()).isEqualTo("in use outside Kueue (2304 MiB of memory used)");
    assertThat(heldByAJob.get(1).busy()).isNull();
  }

  @Test
  void theSettingAndTheWorkersOwnCudaVisibleDevicesLimitTheGpus() throws Exception {
    List<NvidiaSmi.Gpu> gpus = NvidiaSmi.gpus(fixture("a100x4", "gpus.csv"));

    assertThat(allowed(gpus, "0,2", null)).containsExactly(0, 2);
    assertThat(allowed(gpus, "auto", "1,3")).containsExactly(1, 3);
    assertThat(allowed(gpus, "0,1", "1,3")).containsExactly(1);
    assertThat(allowed(gpus, "auto", "GPU-3fac4b5e,0")).containsExactly(0, 2);
    assertThat(allowed(gpus, "auto", "")).isEmpty();
    assertThat(allowed(gpus, "auto", "2,-1,3")).containsExactly(2);
    assertThat(allowed(gpus, "none", null)).isEmpty();
  }

  private static List<Integer> allowed(List<NvidiaSmi.Gpu> gpus, String setting, String visible) {
    GpuSelection selection = GpuSelection.of(setting, visible);
    return gpus.stream().filter(selection::allows).map(NvidiaSmi.Gpu::index).toList();
  }

  @Test
  void theStandInIsFoundOnThePathAndItsForeignProcessIsReported() {
    GpuMonitor monitor = monitor("rtx3090-other-user", "auto", null, Duration.ofSeconds(10));

    monitor.refresh();

    assertThat(monitor.hasGpus()).isTrue();
    assertThat(monitor.devices())
        .extracting(WorkerDevice::name)
        .containsExactly("NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 3090");
    assertThat(monitor.devices().get(0).busy()).startsWith("used outside Kueue: pid 4194301");
    assertThat(monitor.devices().get(1).busy()).isNull();
  }

  @Test
  void aFailingMissingOrSilentNvidiaSmiMeansNoGpus() {
    for (String fixture : List.of("driver-failed", "no-devices", "hanging")) {
      GpuMonitor monitor = monitor(fixture, "auto", null, Duration.ofMillis(300));
      Instant start = Instant.now();
      monitor.refresh();
      assertThat(monitor.hasGpus()).as(fixture).isFalse();
      assertThat(monitor.devices()).as(fixture).isEmpty();
      assertThat(Duration.between(start, Instant.now()))
          .as(fixture)
          .isLessThan(Duration.ofSeconds(5));
    }
    GpuMonitor missing =
        new GpuMonitor(
            KueueConfig.Devices.DEFAULT,
            Map.of("PATH", directory.resolve("nothing").toString()),
            Duration.ofSeconds(1),
            Set::of,
            Map::of);
    missing.refresh();
    assertThat(missing.hasGpus()).isFalse();
  }

  @Test
  void declaredResourcesAreReportedWithoutAnyProbe() {
    GpuMonitor monitor =
        new GpuMonitor(
            new KueueConfig.Devices(
                "none",
                1024,
                true,
                Map.of("fpga", new KueueConfig.DeclaredResource(List.of(0, 1), "FPGA_IDS"))),
            Map.of(),
            Duration.ofSeconds(1),
            Set::of,
            Map::of);
    monitor.refresh();

    assertThat(monitor.devices())
        .containsExactly(WorkerDevice.declared("fpga", 0), WorkerDevice.declared("fpga", 1));
    assertThat(monitor.hasGpus()).isFalse();
  }

  @Test
  void aGpuJobSeesItsIndicesAndOthersSeeNone() {
    KueueConfig.Devices settings =
        new KueueConfig.Devices(
            "auto",
            1024,
            true,
            Map.of("fpga", new KueueConfig.DeclaredResource(List.of(0, 1), "FPGA_IDS")));
    JobSpec twoGpus = spec(Map.of("gpus", 2.0));
    JobSpec half = spec(Map.of("gpus", 0.5, "fpga", 1.0));
    JobSpec cpuOnly = spec(Map.of());

    assertThat(DeviceEnvironment.variables(twoGpus, Map.of("gpus", List.of(1, 3)), true, settings))
        .containsExactly(
            "CUDA_VISIBLE_DEVICES=1,3",
            "CUDA_DEVICE_ORDER=PCI_BUS_ID",
            "KUEUE_GPUS=2",
            "FPGA_IDS=");
    assertThat(
            DeviceEnvironment.variables(
                half, Map.of("gpus", List.of(2), "fpga", List.of(1)), true, settings))
        .containsExactly(
            "CUDA_VISIBLE_DEVICES=2",
            "CUDA_DEVICE_ORDER=PCI_BUS_ID",
            "KUEUE_GPUS=0.5",
            "FPGA_IDS=1");
    assertThat(DeviceEnvironment.variables(cpuOnly, Map.of(), true, settings))
        .containsExactly("CUDA_VISIBLE_DEVICES=", "FPGA_IDS=");
    assertThat(DeviceEnvironment.variables(cpuOnly, Map.of(), false, KueueConfig.Devices.DEFAULT))
        .isEmpty();
    assertThat(
            DeviceEnvironment.variables(
                cpuOnly, Map.of(), true, new KueueConfig.Devices("auto", 1024, false, Map.of())))
        .isEmpty();
  }

  private static JobSpec spec(Map<String, Double> workerResources) {
    return JobSpecBuilder.builder()
        .argv(List.of("true"))
        .cwd("/tmp")
        .slots(1)
        .workerResources(workerResources)
        .build();
  }
}
