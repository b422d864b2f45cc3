package kueue.model;

import java.util.List;

/**
 * Everything {@code show-job} prints. The spec's environment is left out (it can hold the
 * submitter's tokens); {@code envVariables} says how many were captured, -1 for {@code --no-env}.
 * {@code dependencies} lists each job the job depends on (a batch's jobs one by one) with its
 * state.
 */
public record JobDetail(
    JobSummary summary,
    JobSpec spec,
    int envVariables,
    List<JobEvent> history,
    CapturedOutput stdout,
    CapturedOutput stderr,
    List<DependencyStatus> dependencies) {

  public JobDetail {
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
  }

  /** A job without dependencies. */
  public JobDetail(
      JobSummary summary,
      JobSpec spec,
      int envVariables,
      List<JobEvent> history,
      CapturedOutput stdout,
      CapturedOutput stderr) {
    this(summary, spec, envVariables, history, stdout, stderr, List.of());
  }
}
