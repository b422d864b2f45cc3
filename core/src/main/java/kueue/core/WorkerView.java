package kueue.core;

import java.time.Instant;
import java.util.List;
import kueue.model.DeviceState;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;

/** A connected worker as the scheduler sees it; the server adds the system information. */
public record WorkerView(
    long workerId,
    String name,
    WorkerCapacity capacity,
    Resources reserved,
    Resources free,
    List<Long> jobIds,
    double busyness,
    Instant connected,
    Instant lastSeen,
    List<DeviceState> devices) {}
