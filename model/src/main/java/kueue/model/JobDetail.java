package kueue.model;

import java.util.List;

/**
 * Everything {@code show-job} prints. The spec's environment is left out (it can hold the
 * submitter's tokens); {@code envVariables} says how many were captured, -1 for {@code --no-env}.
 */
public record JobDetail(
    JobSummary summary,
    JobSpec spec,
    int envVariables,
    List<JobEvent> history,
    CapturedOutput stdout,
    CapturedOutput stderr) {}
