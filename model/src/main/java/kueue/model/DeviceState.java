package kueue.model;

import java.util.List;

/**
 * A device of a worker as the server sees it: what the worker reported and what the server has
 * given to jobs.
 *
 * @param device the worker's report
 * @param taken the share held by Kueue jobs offered to or running on the worker (1 = whole)
 * @param jobIds those jobs
 */
public record DeviceState(WorkerDevice device, double taken, List<Long> jobIds) {

  public DeviceState {
    jobIds = jobIds == null ? List.of() : List.copyOf(jobIds);
  }

  /** Neither held by a Kueue job nor used outside Kueue. */
  public boolean free() {
    return taken == 0 && device.busy() == null;
  }
}
