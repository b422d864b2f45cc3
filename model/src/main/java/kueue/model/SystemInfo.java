package kueue.model;

/**
 * What a worker tells about its machine, shown by {@code list-workers} and {@code show-worker}.
 * Values the machine does not expose are 0 or empty, never guessed.
 */
public record SystemInfo(
    String hostname,
    String os,
    String kernel,
    int cores,
    double cpuMhz,
    long totalRamMb,
    long availableRamMb,
    double load1,
    double load5,
    double load15,
    long uptimeSeconds) {}
