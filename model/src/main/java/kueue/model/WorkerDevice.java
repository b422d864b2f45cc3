package kueue.model;

import java.util.List;

/**
 * One indexed device of a worker as the worker reports it with every capacity report.
 *
 * @param resource the resource name ({@link WorkerResources#GPUS} for GPUs)
 * @param index the index jobs are given (nvidia-smi's index for GPUs)
 * @param uuid the GPU's UUID, or null for a declared resource
 * @param name the model, e.g. "NVIDIA A100-SXM4-40GB"; null for a declared resource
 * @param memoryTotalMb memory of the device in MiB, 0 when unknown
 * @param memoryUsedMb memory in use in MiB, by anyone
 * @param utilizationPercent GPU utilization, 0 to 100
 * @param processes the processes on the device as far as the worker can see them
 * @param busy why the device is used outside Kueue and must not be assigned now, or null
 */
public record WorkerDevice(
    String resource,
    int index,
    String uuid,
    String name,
    long memoryTotalMb,
    long memoryUsedMb,
    int utilizationPercent,
    List<DeviceProcess> processes,
    String busy) {

  public WorkerDevice {
    processes = processes == null ? List.of() : List.copyOf(processes);
  }

  /** A declared device, which has nothing to measure. */
  public static WorkerDevice declared(String resource, int index) {
    return new WorkerDevice(resource, index, null, null, 0, 0, 0, List.of(), null);
  }

  public long memoryFreeMb() {
    return Math.max(0, memoryTotalMb - memoryUsedMb);
  }
}
