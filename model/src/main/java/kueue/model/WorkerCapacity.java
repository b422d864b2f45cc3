package kueue.model;

import java.util.List;

/**
 * What a worker offers to the scheduler. The server subtracts what it has placed there itself, so
 * the worker never has to guess about jobs that are on their way.
 *
 * <p>Two ways of counting other programs' load: a worker that measures its machine sends {@code
 * usage}, and {@code loadCpus} is then other programs' CPU use alone (Kueue's own jobs are not in
 * it); without {@code usage} (static mode, /proc unreadable, or a worker of an older version)
 * {@code loadCpus} comes from the load average, which includes Kueue's jobs.
 *
 * @param total job slots ({@code worker_max_parallel_jobs}), cores and RAM of the machine
 * @param loadCpus CPUs taken by other programs, times the scale factor: measured use of everything
 *     but Kueue rounded to the nearest CPU when {@code usage} is set, else the load average rounded
 *     up; 0 in static mode
 * @param availableRamMb RAM the OS reports available; equal to total RAM in static mode
 * @param devices the worker's indexed devices (GPUs and declared resources); empty for none
 * @param usage what the worker measured, Kueue's part and other programs' part; null when it did
 *     not measure
 */
public record WorkerCapacity(
    Resources total,
    int loadCpus,
    long availableRamMb,
    List<WorkerDevice> devices,
    WorkerUsage usage) {

  public WorkerCapacity {
    devices = devices == null ? List.of() : List.copyOf(devices);
  }

  /** A worker that did not measure its machine. */
  public WorkerCapacity(
      Resources total, int loadCpus, long availableRamMb, List<WorkerDevice> devices) {
    this(total, loadCpus, availableRamMb, devices, null);
  }

  /** A worker without indexed devices that did not measure its machine. */
  public WorkerCapacity(Resources total, int loadCpus, long availableRamMb) {
    this(total, loadCpus, availableRamMb, List.of(), null);
  }

  /** The same report with other devices. */
  public WorkerCapacity withDevices(List<WorkerDevice> newDevices) {
    return new WorkerCapacity(total, loadCpus, availableRamMb, newDevices, usage);
  }

  /** Free resources given what the server has reserved on this worker. */
  public Resources free(Resources reserved) {
    int slots = Math.max(0, total.slots() - reserved.slots());
    if (usage != null) {
      // Measured: other programs' use excludes Kueue's jobs, so it adds to what they reserve.
      int cpus = Math.max(0, total.cpus() - reserved.cpus() - Math.max(0, loadCpus));
      if (reserved.slots() == 0) {
        // A worker that runs no Kueue job always offers one CPU, however busy other programs keep
        // the machine: a queue must not stall for good behind a colleague's week-long run, and
        // one job at a time is the least a machine shared with Kueue gives it.
        cpus = Math.max(cpus, Math.min(1, total.cpus()));
      }
      long othersRam = Math.max(0, usage.othersRamMb());
      // A job may use more RAM than it reserved: never promise more than the OS has available.
      long ram =
          Math.max(0, Math.min(total.ramMb() - reserved.ramMb() - othersRam, availableRamMb));
      return new Resources(slots, cpus, ram);
    }
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
    int busyCpus =
        usage != null
            ? reserved.cpus() + Math.max(0, loadCpus)
            : Math.max(reserved.cpus(), loadCpus);
    double cpu = total.cpus() == 0 ? 1 : busyCpus / (double) total.cpus();
    double slots = total.slots() == 0 ? 1 : reserved.slots() / (double) total.slots();
    return Math.max(cpu, slots);
  }
}
