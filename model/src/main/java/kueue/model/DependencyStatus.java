package kueue.model;

/**
 * One dependency of a job as {@code show-job} lists it: the job it names and where that job stands.
 *
 * @param kind how the parent must end
 * @param parentId the parent job (a batch dependency is listed once per job of the batch)
 * @param parentState the parent's state, or null when it is no longer stored
 * @param parentExitCode the parent's exit code, or null
 */
public record DependencyStatus(
    DependencyKind kind, long parentId, JobState parentState, Integer parentExitCode) {}
