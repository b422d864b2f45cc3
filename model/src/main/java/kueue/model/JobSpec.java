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
 * @param timeLimitSeconds how long the job may run before its worker stops it and it ends as timed
 *     out, or null for no limit
 * @param retries how many more times the job runs after an attempt that did not succeed, or null
 *     for none
 * @param retryDelaySeconds how long after a failed attempt the next one may start, or null for at
 *     once
 * @param submissionKey chosen by the submitting client, the same for every try of one submission
 *     (and every job of one batch), so that a try repeated after a lost answer gets the jobs the
 *     first try created instead of new ones; null when the client did not choose one
 * @param workerResources indexed devices of one worker the job needs, by resource name ({@link
 *     WorkerResources#GPUS} for GPUs), each amount either whole or a fraction of one device below 1
 *     (see {@link WorkerResources})
 * @param gpuRamMb only GPUs with at least this much memory free (MiB) are assigned; 0 (or null,
 *     read as 0) for any
 * @param priority placement order among pending jobs: higher first, then submission order
 * @param hold submitted held: the job does not start until a user releases it
 * @param dependencies jobs (or batches) that must end as stated before the job may start; empty for
 *     none
 * @param keepChildren the processes the job leaves behind when its main process ends keep running
 *     ({@code --keep-children}); otherwise its worker ends them (TERM, then KILL after the grace of
 *     time limits) before it reports the end
 * @param umask the file mode creation mask the job runs with (the submitter's, 0 to 0777), which
 *     also applies to the {@code -o}/{@code -e} files the worker creates; null for the worker's own
 *     (a submitter of an older version sends none)
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
    Long timeLimitSeconds,
    Integer retries,
    Long retryDelaySeconds,
    String submissionKey,
    Map<String, Double> workerResources,
    Long gpuRamMb,
    Integer priority,
    Boolean hold,
    List<Dependency> dependencies,
    Boolean keepChildren,
    Integer umask)
    implements JobSpecBuilder.With {

  /** The longest submission key accepted, in characters. */
  public static final int MAX_SUBMISSION_KEY_LENGTH = 100;

  public JobSpec {
    // Checked here rather than left to List.copyOf: a JVM that has thrown the same
    // NullPointerException often enough drops its message, and peers get this text as the error.
    if (argv == null) {
      throw new IllegalArgumentException("a job spec needs argv");
    }
    argv = List.copyOf(argv);
    env = env == null ? null : Map.copyOf(env);
    globalResources = globalResources == null ? Map.of() : Map.copyOf(globalResources);
    workerResources = workerResources == null ? Map.of() : Map.copyOf(workerResources);
    // A peer of an older version sends no such field.
    gpuRamMb = gpuRamMb == null ? 0L : gpuRamMb;
    // Absent in messages of peers that predate them: no priority, no hold, no dependencies.
    priority = priority == null ? 0 : priority;
    hold = hold != null && hold;
    dependencies = dependencies == null ? List.of() : List.copyOf(dependencies);
    keepChildren = keepChildren != null && keepChildren;
    if (umask != null && (umask < 0 || umask > 0777)) {
      throw new IllegalArgumentException("umask " + Integer.toOctalString(umask) + " is not 0-777");
    }
  }

  /** How many retries the job may still have after its first attempt; 0 for none. */
  public int retriesAllowed() {
    return retries == null ? 0 : Math.max(0, retries);
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
