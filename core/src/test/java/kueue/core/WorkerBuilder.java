package kueue.core;

import java.util.ArrayList;
import java.util.List;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerDevice;
import kueue.model.WorkerUsage;

/** A worker's reported capacity with small defaults. */
final class WorkerBuilder {
  private String name = "worker";
  private int slots = 10;
  private int cpus = 8;
  private long ramMb = 16_000;
  private int loadCpus = 0;
  private Long availableRamMb;
  private WorkerUsage usage;
  private final List<WorkerDevice> devices = new ArrayList<>();

  static WorkerBuilder aWorker() {
    return new WorkerBuilder();
  }

  WorkerBuilder named(String name) {
    this.name = name;
    return this;
  }

  WorkerBuilder slots(int slots) {
    this.slots = slots;
    return this;
  }

  WorkerBuilder cpus(int cpus) {
    this.cpus = cpus;
    return this;
  }

  WorkerBuilder ramMb(long ramMb) {
    this.ramMb = ramMb;
    return this;
  }

  WorkerBuilder loadCpus(int loadCpus) {
    this.loadCpus = loadCpus;
    return this;
  }

  WorkerBuilder availableRamMb(long availableRamMb) {
    this.availableRamMb = availableRamMb;
    return this;
  }

  /**
   * A worker that measured other programs' use: CPUs (rounded, as the worker sends them) and RAM;
   * Kueue's own part does not matter to the scheduler.
   */
  WorkerBuilder othersUse(double cpus, long ramMb) {
    this.loadCpus = (int) Math.round(cpus);
    this.usage = new WorkerUsage(cpus, ramMb, 0, 0, 5);
    return this;
  }

  /** GPUs 0 to count-1, 40 GiB each, idle. */
  WorkerBuilder gpus(int count) {
    for (int index = 0; index < count; index++) {
      gpu(index, 0, null);
    }
    return this;
  }

  /** A GPU of 40 GiB with usedMb in use; busy says why it is used outside Kueue, or null. */
  WorkerBuilder gpu(int index, long usedMb, String busy) {
    devices.removeIf(device -> device.resource().equals("gpus") && device.index() == index);
    devices.add(
        new WorkerDevice(
            "gpus",
            index,
            "GPU-" + index,
            "NVIDIA A100-SXM4-40GB",
            40_960,
            usedMb,
            0,
            List.of(),
            busy));
    return this;
  }

  WorkerBuilder device(String resource, int index) {
    devices.add(WorkerDevice.declared(resource, index));
    return this;
  }

  String name() {
    return name;
  }

  WorkerCapacity capacity() {
    return new WorkerCapacity(
        new Resources(slots, cpus, ramMb),
        loadCpus,
        availableRamMb == null ? ramMb : availableRamMb,
        devices,
        usage);
  }
}
