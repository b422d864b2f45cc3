package kueue.model;

import java.time.Instant;

/** One connected worker as the server sees it. */
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
    Instant lastSeen) {}
