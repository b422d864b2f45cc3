package kueue.model;

/** One run of a job: attempt numbers start at 1 and grow each time the job is placed again. */
public record AttemptRef(long jobId, int attempt) {}
