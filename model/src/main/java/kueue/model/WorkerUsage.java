package kueue.model;

/**
 * What a worker measured on its machine over its last few seconds, split into what Kueue uses (the
 * worker and its jobs' process trees) and what everything else on the machine uses.
 *
 * @param othersCpus CPUs busy with processes that are not this worker or its jobs, averaged over
 *     the window (e.g. 0.3 for a third of one CPU)
 * @param othersRamMb RAM those processes use: used RAM (total minus what the OS reports available)
 *     minus the resident memory of the worker and its jobs
 * @param kueueCpus CPUs the worker and its jobs used over the same window
 * @param kueueRamMb resident memory of the worker and its jobs now
 * @param windowSeconds how many seconds the CPU figures average over
 */
public record WorkerUsage(
    double othersCpus, long othersRamMb, double kueueCpus, long kueueRamMb, double windowSeconds) {}
