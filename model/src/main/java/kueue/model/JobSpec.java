package kueue.model;

import java.util.List;
import java.util.Map;

/**
 * Everything a submitter asks for. Bulky parts (argv, environment) travel with the spec to the store
 * and to the worker, but the scheduler only keeps {@link #demand()} and the global resources.
 *
 * @param argv program and arguments, executed without a shell
 * @param cwd canonical working directory on the submitting host
 * @param env environment to run with; null means "the worker's own environment" ({@code --no-env})
 * @param slots job slots, at least 1
 * @param cpus CPUs reserved on the worker
 * @param ramMb RAM reserved on the worker, in MiB
 * @param globalResources named fleet-wide resources, e.g. licenses, each count at least 1
 * @param stdout see {@link OutputTarget}
 * @param stderr see {@link OutputTarget}
 */
public record JobSpec(
    List<String> argv,
    String cwd,
    Map<String, String> env,
    int slots,
    int cpus,
    long ramMb,
    Map<String, Integer> globalResources,
    String stdout,
    String stderr) {

  public JobSpec {
    argv = List.copyOf(argv);
    env = env == null ? null : Map.copyOf(env);
    globalResources = globalResources == null ? Map.of() : Map.copyOf(globalResources);
  }

  public Resources demand() {
    return new Resources(slots, cpus, ramMb);
  }

  /** The command line as a user would type it, for tables and logs. */
  public String commandLine() {
    return CommandLines.join(argv);
  }
}
