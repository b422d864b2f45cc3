package kueue.model;

import io.soabase.recordbuilder.core.RecordBuilder;
import java.util.List;
import java.util.Map;

/**
 * Everything a submitter asks for. Bulky parts (argv, environment) travel with the spec to the
 * store and to the worker, but the scheduler only keeps {@link #demand()} and the global resources.
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
 * @param batch the batch the job belongs to (the id of the batch's first job), or null for a job
 *     submitted on its own; set by the server, ignored when a client sends it
 * @param arrayIndex the job's index within its batch ({@code --array} value or {@code --file} line
 *     number), or null outside a batch
 * @param priority placement order among pending jobs: higher first, then submission order
 * @param hold submitted held: the job does not start until a user releases it
 * @param dependencies jobs (or batches) that must end as stated before the job may start; empty for
 *     none
 */
@RecordBuilder
public record JobSpec(
    List<String> argv,
    String cwd,
    Map<String, String> env,
    int slots,
    int cpus,
    long ramMb,
    Map<String, Integer> globalResources,
    String stdout,
    String stderr,
    Long batch,
    Long arrayIndex,
    Integer priority,
    Boolean hold,
    List<Dependency> dependencies)
    implements JobSpecBuilder.With {

  public JobSpec {
    // Checked here rather than left to List.copyOf: a JVM that has thrown the same
    // NullPointerException often enough drops its message, and peers get this text as the error.
    if (argv == null) {
      throw new IllegalArgumentException("a job spec needs argv");
    }
    argv = List.copyOf(argv);
    env = env == null ? null : Map.copyOf(env);
    globalResources = globalResources == null ? Map.of() : Map.copyOf(globalResources);
    // Absent in messages of peers that predate them: no priority, no hold, no dependencies.
    priority = priority == null ? 0 : priority;
    hold = hold != null && hold;
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
  }

  public Resources demand() {
    return new Resources(slots, cpus, ramMb);
  }

  /** The command line as a user would type it, for tables and logs. */
  public String commandLine() {
    return CommandLines.join(argv);
  }

  /** This spec as job jobId will run it: output names expanded, batch and index set (or null). */
  public JobSpec forJob(long jobId, List<String> jobArgv, Long batchId, Long index) {
    return with(
        job ->
            job.argv(jobArgv)
                .stdout(OutputTarget.expand(stdout, jobId, batchId, index))
                .stderr(OutputTarget.expand(stderr, jobId, batchId, index))
                .batch(batchId)
                .arrayIndex(index));
  }
}
