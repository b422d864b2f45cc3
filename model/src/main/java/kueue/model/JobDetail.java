package kueue.model;

import java.util.List;
import java.util.Map;

/**
 * Everything {@code show-job} prints. The spec's environment is left out (it can hold the
 * submitter's tokens); {@code envVariables} says how many were captured, -1 for {@code --no-env}.
 * {@code devices} are the device indices of the current or last attempt by resource name (empty
 * when it asked for none or was never placed). {@code dependencies} lists each job the job depends
 * on (a batch's jobs one by one) with its state. {@code stdout} and {@code stderr} are the output
 * of the last attempt whose output is kept; {@code outputAttempts} lists the attempts whose output
 * is kept, oldest first (the last few; {@code kueue log --attempt N} shows one).
 */
public record JobDetail(
    JobSummary summary,
    JobSpec spec,
    int envVariables,
    List<JobEvent> history,
    CapturedOutput stdout,
    CapturedOutput stderr,
    Map<String, List<Integer>> devices,
    List<DependencyStatus> dependencies,
    List<Integer> outputAttempts) {

  public JobDetail {
    devices = devices == null ? Map.of() : Map.copyOf(devices);
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
    outputAttempts = outputAttempts == null ? List.of() : List.copyOf(outputAttempts);
  }

  /** A job whose kept output, if any, is of one attempt that need not be named. */
  public JobDetail(
      JobSummary summary,
      JobSpec spec,
      int envVariables,
      List<JobEvent> history,
      CapturedOutput stdout,
      CapturedOutput stderr,
      Map<String, List<Integer>> devices,
      List<DependencyStatus> dependencies) {
    this(summary, spec, envVariables, history, stdout, stderr, devices, dependencies, List.of());
  }

  /** The same job as seen now: its summary replaced. */
  public JobDetail withSummary(JobSummary now) {
    return new JobDetail(
        now, spec, envVariables, history, stdout, stderr, devices, dependencies, outputAttempts);
  }

  /** A job without devices. */
  public JobDetail(
      JobSummary summary,
      JobSpec spec,
      int envVariables,
      List<JobEvent> history,
      CapturedOutput stdout,
      CapturedOutput stderr,
      List<DependencyStatus> dependencies) {
    this(summary, spec, envVariables, history, stdout, stderr, Map.of(), dependencies);
  }

  /** A job without dependencies. */
  public JobDetail(
      JobSummary summary,
      JobSpec spec,
      int envVariables,
      List<JobEvent> history,
      CapturedOutput stdout,
      CapturedOutput stderr,
      Map<String, List<Integer>> devices) {
    this(summary, spec, envVariables, history, stdout, stderr, devices, List.of());
  }

  /** A job without devices or dependencies. */
  public JobDetail(
      JobSummary summary,
      JobSpec spec,
      int envVariables,
      List<JobEvent> history,
      CapturedOutput stdout,
      CapturedOutput stderr) {
    this(summary, spec, envVariables, history, stdout, stderr, Map.of(), List.of());
  }
}
