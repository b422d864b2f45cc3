package kueue.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongFunction;
import kueue.config.KueueConfig;
import kueue.model.DeviceProcess;
import kueue.model.WorkerDevice;
import kueue.model.WorkerResources;

/**
 * Turns what nvidia-smi says into the devices the worker reports, and decides which GPUs are used
 * outside Kueue: a GPU with a process that is none of this worker's jobs, or one that holds no
 * Kueue job but has more memory in use than the threshold (a process nvidia-smi cannot show, e.g.
 * from another container). Such a GPU is busy and the server assigns it to nobody until that ends.
 */
final class DeviceReport {

  /**
   * Who runs a process, as the worker can tell from /proc.
   *
   * @param exists whether the process is visible on this machine at all
   * @param user its owner, or null when not visible
   * @param jobId the job of this worker it belongs to, or null
   */
  record Owner(boolean exists, String user, Long jobId) {
    static final Owner UNKNOWN = new Owner(false, null, null);
  }

  private DeviceReport() {}

  /**
   * @param heldByJobs indices of GPUs that jobs of this worker hold now
   * @param owners who runs a process id
   * @param workerUser the user the worker runs as
   * @param busyMemoryMb {@code [worker] gpu_busy_memory_mb}
   */
  static List<WorkerDevice> gpus(
      List<NvidiaSmi.Gpu> gpus,
      List<NvidiaSmi.GpuProcess> processes,
      GpuSelection selection,
      Set<Integer> heldByJobs,
      LongFunction<Owner> owners,
      String workerUser,
      long busyMemoryMb) {
    List<WorkerDevice> devices = new ArrayList<>();
    for (NvidiaSmi.Gpu gpu : gpus) {
      if (!selection.allows(gpu)) {
        continue;
      }
      List<DeviceProcess> onGpu = new ArrayList<>();
      String busy = null;
      for (NvidiaSmi.GpuProcess process : processes) {
        if (!process.gpuUuid().equals(gpu.uuid())) {
          continue;
        }
        Owner owner = owners.apply(process.pid());
        onGpu.add(
            new DeviceProcess(
                process.pid(), owner.user(), process.name(), process.memoryMb(), owner.jobId()));
        if (owner.jobId() == null && busy == null) {
          busy = foreign(process, owner, workerUser);
        }
      }
      if (busy == null && !heldByJobs.contains(gpu.index()) && gpu.memoryUsedMb() > busyMemoryMb) {
        busy = "in use outside Kueue (" + gpu.memoryUsedMb() + " MiB of memory used)";
      }
      devices.add(
          new WorkerDevice(
              WorkerResources.GPUS,
              gpu.index(),
              gpu.uuid(),
              gpu.name(),
              gpu.memoryTotalMb(),
              gpu.memoryUsedMb(),
              gpu.utilizationPercent(),
              onGpu,
              busy));
    }
    return devices;
  }

  /** The devices of [worker.resources], which have nothing to measure. */
  static List<WorkerDevice> declared(Map<String, KueueConfig.DeclaredResource> resources) {
    List<WorkerDevice> devices = new ArrayList<>();
    new java.util.TreeMap<>(resources)
        .forEach(
            (name, resource) ->
                resource
                    .indices()
                    .forEach(index -> devices.add(WorkerDevice.declared(name, index))));
    return devices;
  }

  private static String foreign(NvidiaSmi.GpuProcess process, Owner owner, String workerUser) {
    String program = process.name();
    int slash = program.lastIndexOf('/');
    if (slash >= 0 && slash < program.length() - 1) {
      program = program.substring(slash + 1);
    }
    String what = "pid " + process.pid() + (program.isEmpty() ? "" : " (" + program + ")");
    if (owner.user() == null) {
      return "used outside Kueue: " + what;
    }
    if (owner.user().equals(workerUser)) {
      return "used outside Kueue by " + owner.user() + ": " + what;
    }
    return "used by another user: " + owner.user() + ", " + what;
  }
}
