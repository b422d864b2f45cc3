package kueue.core;

import kueue.model.JobState;

/**
 * What the scheduler knows of a job that has not ended: for show-job and list-jobs.
 *
 * @param workerId the worker holding the current attempt, or -1
 * @param pendingReason for pending jobs, why they are not placed right now; otherwise null
 */
public record ActiveJobView(
    long jobId, JobState state, int attempt, long workerId, String pendingReason) {}
