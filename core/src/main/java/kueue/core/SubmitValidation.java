package kueue.core;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import kueue.model.JobSpec;

/** The checks a submission must pass before any of its jobs is queued (SPEC §5.3). */
final class SubmitValidation {
  private SubmitValidation() {}

  /** Why the submission is rejected, or null when every job is acceptable. */
  static String problem(List<JobSpec> jobs, SchedulerSettings settings) {
    if (jobs == null || jobs.isEmpty()) {
      return "no jobs to submit";
    }
    for (int index = 0; index < jobs.size(); index++) {
      String problem = problem(jobs.get(index), settings);
      if (problem != null) {
        return jobs.size() == 1
            ? problem
            : "job " + (index + 1) + " of " + jobs.size() + ": " + problem;
      }
    }
    return null;
  }

  private static String problem(JobSpec spec, SchedulerSettings settings) {
    if (spec == null) {
      return "job description is missing";
    }
    if (spec.argv().isEmpty()
        || spec.argv().getFirst() == null
        || spec.argv().getFirst().isBlank()) {
      return "no program to run";
    }
    if (spec.cwd() == null || spec.cwd().isEmpty()) {
      return "working directory is missing";
    }
    if (!spec.cwd().startsWith("/")) {
      return "working directory '" + spec.cwd() + "' is not an absolute path";
    }
    if (spec.slots() < 1) {
      return "job slots must be at least 1 (got " + spec.slots() + ")";
    }
    if (spec.cpus() < 0) {
      return "CPUs cannot be negative (got " + spec.cpus() + ")";
    }
    if (spec.ramMb() < 0) {
      return "RAM cannot be negative (got " + spec.ramMb() + " MB)";
    }
    if (spec.slots() > settings.globalMaxParallelJobs()) {
      return "asks for "
          + spec.slots()
          + " job slots but global_max_parallel_jobs is "
          + settings.globalMaxParallelJobs();
    }
    Map<String, Integer> configured = new TreeMap<>(settings.globalResources());
    for (Map.Entry<String, Integer> ask : new TreeMap<>(spec.globalResources()).entrySet()) {
      String name = ask.getKey();
      Integer total = configured.get(name);
      if (total == null) {
        String known = configured.isEmpty() ? "none" : String.join(", ", configured.keySet());
        return "unknown global resource '" + name + "' (configured: " + known + ")";
      }
      if (ask.getValue() < 1) {
        return "global resource '"
            + name
            + "' must be asked for at least once (got "
            + ask.getValue()
            + ")";
      }
      if (ask.getValue() > total) {
        return "global resource '"
            + name
            + "' asks for "
            + ask.getValue()
            + " but only "
            + total
            + " exist";
      }
    }
    return null;
  }
}
