package kueue.core;

import kueue.model.Resources;
import kueue.model.WorkerCapacity;

/** A worker's reported capacity with small defaults. */
final class WorkerBuilder {
  private String name = "worker";
  private int slots = 10;
  private int cpus = 8;
  private long ramMb = 16_000;
  private int loadCpus = 0;
  private Long availableRamMb;

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

  String name() {
    return name;
  }

  WorkerCapacity capacity() {
    return new WorkerCapacity(
        new Resources(slots, cpus, ramMb),
        loadCpus,
        availableRamMb == null ? ramMb : availableRamMb);
  }
}
