package kueue.core;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import kueue.model.BatchEntry;
import kueue.model.JobSpec;
import kueue.model.OutputTarget;
import kueue.model.WorkerResources;

/** The checks a submission must pass before any of its jobs is queued. */
final class SubmitValidation {
  /**
   * Linux refuses to start a program with one argument of 128 KiB or more (MAX_ARG_STRLEN, the
   * terminating NUL included); such a job could never run, so it is refused at submit.
   */
  static final int MAX_ARGUMENT_BYTES = 128 * 1024 - 1;

  private SubmitValidation() {}

  /** Why the submission is rejected, or null when every job is acceptable. */
  static String problem(List<JobSpec> jobs, SchedulerSettings settings) {
    if (jobs == null || jobs.isEmpty()) {
      return "no jobs to submit";
    }
    for (int index = 0; index < jobs.size(); index++) {
      JobSpec spec = jobs.get(index);
      String problem = spec == null ? "job description is missing" : argvProblem(spec.argv());
      if (problem == null) {
        problem = sharedProblem(spec, settings, false);
      }
      if (problem != null) {
        return jobs.size() == 1
            ? problem
            : "job " + (index + 1) + " of " + jobs.size() + ": " + problem;
      }
    }
    return null;
  }

  /**
   * Why the batch is rejected, or null when every entry is acceptable. A problem of one entry names
   * its index, which for {@code --file} is the line number.
   */
  static String batchProblem(JobSpec shared, List<BatchEntry> entries, SchedulerSettings settings) {
    if (shared == null) {
      return "job description is missing";
    }
    if (entries == null || entries.isEmpty()) {
      return "no jobs to submit";
    }
    String problem = sharedProblem(shared, settings, true);
    if (problem != null) {
      return problem;
    }
    String sharedArgvProblem = null;
    boolean sharedArgvChecked = false;
    Set<Long> indices = new HashSet<>();
    for (int position = 0; position < entries.size(); position++) {
      BatchEntry entry = entries.get(position);
      if (entry == null) {
        return "job " + (position + 1) + " of " + entries.size() + " is missing";
      }
      if (entry.index() < 0) {
        return "index " + entry.index() + " is negative";
      }
      if (!indices.add(entry.index())) {
        return "index " + entry.index() + " is given twice";
      }
      if (entry.argv() != null) {
        problem = argvProblem(entry.argv());
      } else {
        if (!sharedArgvChecked) {
          sharedArgvProblem = argvProblem(shared.argv());
          sharedArgvChecked = true;
        }
        problem = sharedArgvProblem;
      }
      if (problem != null) {
        return "index " + entry.index() + ": " + problem;
      }
    }
    return null;
  }

  private static String argvProblem(List<String> argv) {
    if (argv.isEmpty() || argv.getFirst() == null || argv.getFirst().isBlank()) {
      return "no program to run";
    }
    for (int position = 0; position < argv.size(); position++) {
      String arg = argv.get(position);
      String what = position == 0 ? "the program name" : "argument " + position;
      if (arg.indexOf('\0') >= 0) {
        return what + " contains a NUL character, which no program can be given";
      }
      if (arg.length() > MAX_ARGUMENT_BYTES / 3
          && arg.getBytes(StandardCharsets.UTF_8).length > MAX_ARGUMENT_BYTES) {
        return what
            + " is longer than "
            + MAX_ARGUMENT_BYTES
            + " bytes, the most Linux passes to a program";
      }
    }
    return null;
  }

  /** Everything but the argv, which a batch may give per entry. */
  private static String sharedProblem(JobSpec spec, SchedulerSettings settings, boolean inBatch) {
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
    if (spec.timeLimitSeconds() != null && spec.timeLimitSeconds() < 1) {
      return "time limit must be at least 1 second (got " + spec.timeLimitSeconds() + ")";
    }
    if (spec.retries() != null && spec.retries() < 0) {
      return "retries cannot be negative (got " + spec.retries() + ")";
    }
    if (spec.retryDelaySeconds() != null && spec.retryDelaySeconds() < 0) {
      return "retry delay cannot be negative (got " + spec.retryDelaySeconds() + ")";
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
    String output = OutputTarget.problem(spec.stdout(), inBatch);
    if (output != null) {
      return "stdout " + output;
    }
    output = OutputTarget.problem(spec.stderr(), inBatch);
    if (output != null) {
      return "stderr " + output;
    }
    for (Map.Entry<String, Double> ask : new TreeMap<>(spec.workerResources()).entrySet()) {
      String problem = WorkerResources.problem(ask.getKey(), ask.getValue());
      if (problem != null) {
        return problem;
      }
    }
    if (spec.gpuRamMb() < 0) {
      return "GPU memory cannot be negative (got " + spec.gpuRamMb() + " MB)";
    }
    if (spec.gpuRamMb() > 0 && !spec.workerResources().containsKey(WorkerResources.GPUS)) {
      return "--gpu-ram-mb needs --gpus: it says which GPUs the job may get";
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
