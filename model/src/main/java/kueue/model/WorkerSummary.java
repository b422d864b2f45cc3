package kueue.model;

import java.time.Instant;
import java.util.List;

/**
 * One connected worker as the server sees it; {@code devices} are its indexed devices (GPUs and
 * declared resources) with what Kueue holds of each.
 */
public record WorkerSummary(
    long id,
    String name,
    SystemInfo system,
    WorkerCapacity capacity,
    Resources reserved,
    Resources free,
    int runningJobs,
    double busyness,
    Instant connected,
    Instant lastSeen,
    List<DeviceState> devices) {

  public WorkerSummary {
    devices = devices == null ? List.of() : List.copyOf(devices);
  }
}
