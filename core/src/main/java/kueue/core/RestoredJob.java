package kueue.core;

import java.time.Instant;
import java.util.Map;
import kueue.model.JobState;
import kueue.model.Resources;

/**
 * A non-terminal job read back from the store at start-up. OFFERED and RUNNING jobs may still run
 * on a worker that will reconnect and claim them; until then they keep their resources.
 */
public record RestoredJob(
    long jobId,
    JobState state,
    Resources demand,
    Map<String, Integer> globalResources,
    int attempt,
    Instant submitted) {}
