package kueue.model;

import java.util.List;

/**
 * What a worker offers to the scheduler. The server subtracts what it has placed there itself, so
 * the worker never has to guess about jobs that are on their way.
 *
 * @param total job slots ({@code worker_max_parallel_jobs}), cores and RAM of the machine
 * @param loadCpus CPUs busy by current load times the scale factor, rounded up; 0 in static mode
 * @param availableRamMb RAM the OS reports available; equal to total RAM in static mode
 * @param devices the worker's indexed devices (GPUs and declared resources); empty for none
 */
public record WorkerCapacity(
    Resources total, int loadCpus, long availableRamMb, List<WorkerDevice> devices) {

  public WorkerCapacity {
    devices = devices == null ? List.of() : List.copyOf(devices);
  }

  /** A worker without indexed devices. */
  public WorkerCapacity(Resources total, int loadCpus, long availableRamMb) {
    this(total, loadCpus, availableRamMb, List.of());
  }

  /** Free resources given what the server has reserved on this worker. */
  public Resources free(Resources reserved) {
    int slots = Math.max(0, total.slots() - reserved.slots());
    // Load from other programs takes CPUs away, but never all of them from a worker that runs no
    // Kueue job: a job must not wait while a worker that fits it is idle, and a load average
    // still high from a finished build would otherwise hold everything back.
    int busyCpus = reserved.slots() == 0 ? 0 : Math.max(reserved.cpus(), loadCpus);
    int cpus = Math.max(0, total.cpus() - busyCpus);
    long ram = Math.max(0, Math.min(total.ramMb() - reserved.ramMb(), availableRamMb));
    return new Resources(slots, cpus, ram);
  }

  /** 0 for idle, 1 for fully used; used to give work to the least busy worker first. */
  public double busyness(Resources reserved) {
    double cpu =
        total.cpus() == 0 ? 1 : Math.max(reserved.cpus(), loadCpus) / (double) total.cpus();
    double slots = total.slots() == 0 ? 1 : reserved.slots() / (double) total.slots();
    return Math.max(cpu, slots);
  }
}
