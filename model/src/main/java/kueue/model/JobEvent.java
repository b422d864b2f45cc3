package kueue.model;

import java.time.Instant;

/**
 * One entry of a job's append-only history, e.g. "offered" to a worker, "declined", "started",
 * "requeued", "ended".
 */
public record JobEvent(Instant time, int attempt, String what, String worker, String detail) {}
