package kueue.model;

/**
 * Where a reader of a job's output stands.
 *
 * @param attempt the attempt it reads, or null for the job's current one
 * @param stdoutFrom the next byte of stdout it wants; null when it does not want stdout
 * @param stderrFrom the same for stderr
 */
public record OutputCursor(long jobId, Integer attempt, Long stdoutFrom, Long stderrFrom) {}
