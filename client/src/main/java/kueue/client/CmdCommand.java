package kueue.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import kueue.config.DurationText;
import kueue.config.KueueConfig;
import kueue.model.BatchEntry;
import kueue.model.Dependency;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.model.OutputTarget;
import kueue.model.WorkerResources;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code kueue cmd}: submits one job, or a batch of them with --array or --file; everything from
 * the program on belongs to the job.
 */
@Command(
    name = "cmd",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Submit PROGRAM with its ARGS as a job and print the job id.",
      "The job runs in the current directory (resolved to its canonical path), without a shell,"
          + " with stdin from /dev/null.",
      "Everything after PROGRAM belongs to the job, including things that look like options.",
      "",
      "Batches: --array INDICES submits PROGRAM once per index; --file FILE submits one job per"
          + " command line of FILE. A batch is accepted or refused as a whole and prints"
          + " \"batch B: jobs B-L\"; its id B is the id of its first job (see list-jobs --batches,"
          + " wait-job --batch, remove-job --batch)."
    },
    footer = {
      "",
      // Help texts are format strings: %% prints one %.
      "Output file names (-o, -e) may use %%j (the job id), %%a (the array index), %%b (the batch"
          + " id) and %%%% (a literal %%), e.g. -o out-%%a.txt; they are filled in by the server"
          + " when the job gets its id.",
      "",
      "The job gets this shell's environment except variables that only make sense on this host"
          + " or terminal: DISPLAY, WAYLAND_DISPLAY, XAUTHORITY, SESSION_MANAGER,"
          + " DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_SESSION_*, XDG_SEAT, XDG_VTNR, SSH_*,"
          + " HOSTNAME, HOST, PWD, OLDPWD, SHLVL, _, TERM, TERM_*, COLORTERM, COLUMNS, LINES,"
          + " WINDOWID, VTE_VERSION, TMUX, TMUX_PANE, STY, WINDOW, KUEUE_JOB_ID, KUEUE_WORKER,"
          + " KUEUE_ARRAY_ID, KUEUE_ARRAY_INDEX. Jobs of a batch get KUEUE_ARRAY_ID (the batch id)"
          + " and KUEUE_ARRAY_INDEX (their index).",
      "",
      "Durations (--time, --retry-delay): 90s, 30m, 2h, 1h30m, 1d, or [D-]HH:MM:SS as in Slurm.",
      "",
      "With --wait the exit code is the job's: 124 if it timed out, 127 if it could not start,"
          + " 128+N if killed by signal N, 130 if canceled. For a batch it is 0 only if every job"
          + " succeeded, else the code of the job with the smallest id that did not. While the"
          + " job waits, why is printed on stderr when that changes. Ctrl-C stops waiting, not"
          + " the job, and exits with 75."
    })
final class CmdCommand extends ServerCommand {
  @Option(
      names = {"-j", "--job-slots"},
      paramLabel = "N",
      defaultValue = "1",
      description = "Job slots the job takes on its worker (default: ${DEFAULT-VALUE}).")
  int jobSlots;

  @Option(
      names = {"-c", "--cpus"},
      paramLabel = "N",
      description = "CPUs to reserve (default: [client] job_default_cpus).")
  Integer cpus;

  @Option(
      names = {"-r", "--ram-mb"},
      paramLabel = "N",
      description = "RAM to reserve in MB (default: [client] job_default_ram_mb).")
  Long ramMb;

  @Option(
      names = "--resource",
      paramLabel = "NAME[=N]",
      description = "Hold N (default 1) of a global resource while running; repeatable.")
  List<String> resources = new ArrayList<>();

  @Option(
      names = {"-g", "--gpus"},
      paramLabel = "N",
      description =
          "GPUs to give the job on its worker: a whole number, or a share of one GPU below 1"
              + " (0.5, 0.25) that other such jobs share. The job finds them in"
              + " CUDA_VISIBLE_DEVICES.")
  String gpus;

  @Option(
      names = "--gpu-ram-mb",
      paramLabel = "M",
      description = "With --gpus: only GPUs with at least M MiB of memory free.")
  Long gpuRamMb;

  @Option(
      names = "--worker-resource",
      paramLabel = "NAME=N",
      description =
          "N of an indexed device that workers declare in [worker.resources]; the job finds"
              + " their indices in the variable the worker names. Repeatable.")
  List<String> workerResourceOptions = new ArrayList<>();

  @Option(
      names = {"-o", "--stdout"},
      paramLabel = "PATH|null",
      description =
          "Write stdout to PATH (relative to the working directory), or discard it with null."
              + " Default: captured, see show-job.")
  String stdout;

  @Option(
      names = {"-e", "--stderr"},
      paramLabel = "PATH|null",
      description = "The same for stderr.")
  String stderr;

  @Option(
      names = {"-t", "--time"},
      paramLabel = "DURATION",
      description =
          "Time limit: after running this long the job gets SIGTERM, then SIGKILL after the"
              + " worker's grace period, and ends as timed out (default: [client]"
              + " job_default_time_limit, or none).")
  String time;

  @Option(
      names = "--retries",
      paramLabel = "N",
      description =
          "Run the job again after an attempt that did not succeed (non-zero exit, killed, not"
              + " started), up to N more times; not after a time-out.")
  Integer retries;

  @Option(
      names = "--retry-delay",
      paramLabel = "DURATION",
      description = "Wait this long before each retry (default: retry at once).")
  String retryDelay;

  @Option(
      names = "--priority",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "Pending jobs start by priority, higher first, then in submission order (default:"
              + " ${DEFAULT-VALUE}; may be negative). A job that fits no worker does not hold up"
              + " others.")
  int priority;

  @Option(
      names = "--hold",
      description = "Submit the job held: it does not start until kueue release ID.")
  boolean hold;

  @Option(
      names = "--keep-children",
      description =
          "Leave the processes the job starts in the background running when it ends (a daemon it"
              + " starts on purpose). By default they are ended (TERM, then KILL) before the job"
              + " counts as ended.")
  boolean keepChildren;

  @Option(
      names = "--after",
      paramLabel = "ID[,ID...]",
      description =
          "Start only after all these jobs succeeded (afterok). An ID may be a batch id: then every"
              + " job of the batch.")
  String after;

  @Option(
      names = {"-d", "--dependency"},
      paramLabel = "afterok:ID[:ID...],afterany:ID...,afternotok:ID...",
      description =
          "Start only when all conditions hold: afterok (succeeded), afterany (ended in any way),"
              + " afternotok (failed or canceled). A job whose condition can no longer hold is"
              + " canceled at once, with the reason.")
  String dependency;

  @Option(
      names = {"-w", "--wait"},
      description = "Wait until the job ends and exit with its exit code.")
  boolean await;

  @Option(
      names = {"-f", "--follow"},
      description =
          "Wait for the job and print its output as it writes it (stdout to stdout, stderr to"
              + " stderr); exit with its exit code. Ctrl-C stops following, not the job."
              + " For a batch, each line is prefixed with its job's index.")
  boolean follow;

  @Option(
      names = "--no-env",
      description = "Run with the worker's environment instead of this one.")
  boolean noEnvironment;

  @Option(
      names = "--json",
      description =
          "Print {\"ids\":[ID]} instead of the bare id; for a batch {\"batch\":B,\"ids\":[...]}.")
  boolean json;

  @Option(
      names = "--array",
      paramLabel = "INDICES",
      description =
          "Submit PROGRAM once per index: N, N-M, N-M:STEP, or a comma-separated list of them"
              + " (e.g. 1-1000, 1-10,20,30-40, 0-100:10); at most "
              + Message.MAX_JOBS_PER_SUBMIT
              + " jobs. Each job finds its index in KUEUE_ARRAY_INDEX.")
  String array;

  @Option(
      names = "--file",
      paramLabel = "FILE",
      description =
          "Submit one job per line of FILE (- for stdin), skipping blank lines and lines starting"
              + " with #. Each line runs as /bin/sh -c LINE; its line number is its index."
              + " Give no PROGRAM with --file.")
  String file;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "PROGRAM",
      description = "The program to run (looked up in the job's PATH on the worker).")
  String program;

  @Parameters(index = "1..*", paramLabel = "ARGS", description = "Its arguments.")
  List<String> arguments = new ArrayList<>();

  private Map<String, Integer> globalResources;
  private Map<String, Double> workerResources;
  private List<Dependency> dependencies;
  private Path cwd;
  private Long timeLimitSeconds;
  private Long retryDelaySeconds;

  /** The batch's jobs, or null for a single job. */
  private List<BatchEntry> entries;

  CmdCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() throws CliException {
    if (jobSlots < 1) {
      throw usage("--job-slots must be at least 1, got " + jobSlots);
    }
    if (cpus != null && cpus < 0) {
      throw usage("--cpus must not be negative, got " + cpus);
    }
    if (ramMb != null && ramMb < 0) {
      throw usage("--ram-mb must not be negative, got " + ramMb);
    }
    if (array != null && file != null) {
      throw usage("give either --array or --file, not both");
    }
    if (file != null && program != null) {
      throw usage(
          "--file takes the commands from "
              + file
              + "; give no PROGRAM (write '"
              + program
              + " ...' into the file)");
    }
    if (file == null && program == null) {
      throw usage("PROGRAM is missing (or give --file FILE)");
    }
    if (program != null && program.isEmpty()) {
      throw usage("PROGRAM must not be empty");
    }
    if (stdout != null && stdout.isEmpty() || stderr != null && stderr.isEmpty()) {
      throw usage("--stdout and --stderr need a path or null");
    }
    if (time != null) {
      timeLimitSeconds = duration("--time", time);
    }
    if (retries != null && retries < 0) {
      throw usage("--retries must not be negative, got " + retries);
    }
    if (retryDelay != null) {
      if (retries == null || retries == 0) {
        throw usage("--retry-delay needs --retries N");
      }
      retryDelaySeconds = duration("--retry-delay", retryDelay);
    }
    boolean batch = array != null || file != null;
    checkOutputName("--stdout", stdout, batch);
    checkOutputName("--stderr", stderr, batch);
    globalResources = parseResources(resources);
    workerResources = parseWorkerResources();
    if (gpuRamMb != null && (gpuRamMb < 0 || gpus == null)) {
      throw usage(
          gpus == null
              ? "--gpu-ram-mb needs --gpus"
              : "--gpu-ram-mb must not be negative, got " + gpuRamMb);
    }
    dependencies = new ArrayList<>();
    try {
      if (after != null) {
        dependencies.addAll(Dependency.parseAfter(after));
      }
      if (dependency != null) {
        dependencies.addAll(Dependency.parse(dependency));
      }
    } catch (IllegalArgumentException e) {
      throw usage(
          (after != null && dependency == null ? "--after: " : "--dependency: ") + e.getMessage());
    }
    try {
      cwd = context.workingDirectory().toRealPath();
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.USAGE_OR_CONFIG,
          "cannot resolve the current directory "
              + context.workingDirectory()
              + ": "
              + e.getMessage(),
          e);
    }
    if (batch) {
      entries = readEntries();
    }
  }

  private long duration(String option, String text) {
    try {
      return DurationText.seconds(text);
    } catch (IllegalArgumentException e) {
      throw usage(option + ": " + e.getMessage());
    }
  }

  private void checkOutputName(String option, String target, boolean batch) {
    String problem = OutputTarget.problem(target, batch);
    if (problem != null) {
      throw usage(option + " " + problem);
    }
  }

  private List<BatchEntry> readEntries() throws CliException {
    try {
      if (array != null) {
        return ArrayIndices.parse(array).stream()
            .map(index -> new BatchEntry(index, null))
            .toList();
      }
      if (file.equals("-")) {
        return BatchFile.read(context.stdin(), "stdin");
      }
      Path path = context.workingDirectory().resolve(file);
      try (InputStream input = Files.newInputStream(path)) {
        return BatchFile.read(input, file);
      }
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    } catch (NoSuchFileException e) {
      throw usage("--file " + file + ": no such file");
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.USAGE_OR_CONFIG, "cannot read --file " + file + ": " + e.getMessage(), e);
    }
  }

  private ParameterException usage(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private Map<String, Double> parseWorkerResources() {
    Map<String, Double> parsed = new LinkedHashMap<>();
    if (gpus != null) {
      parsed.put(WorkerResources.GPUS, amount("--gpus", WorkerResources.GPUS, gpus));
    }
    for (String option : workerResourceOptions) {
      int equals = option.indexOf('=');
      String name = (equals < 0 ? option : option.substring(0, equals)).strip();
      if (name.isEmpty() || equals < 0) {
        throw usage("--worker-resource expects NAME=N, got '" + option + "'");
      }
      if (name.equals(WorkerResources.GPUS)) {
        throw usage("ask for GPUs with --gpus N");
      }
      double amount = amount("--worker-resource", name, option.substring(equals + 1));
      if (parsed.putIfAbsent(name, amount) != null) {
        throw usage("--worker-resource " + name + " is given twice");
      }
    }
    return parsed;
  }

  private double amount(String option, String name, String text) {
    double amount;
    try {
      amount = Double.parseDouble(text.strip());
    } catch (NumberFormatException e) {
      throw usage(option + " expects a number such as 1, 2 or 0.5, got '" + text + "'");
    }
    String problem = WorkerResources.problem(name, amount);
    if (problem != null) {
      throw usage(option + ": " + problem);
    }
    return amount;
  }

  private Map<String, Integer> parseResources(List<String> specs) {
    Map<String, Integer> parsed = new LinkedHashMap<>();
    for (String resource : specs) {
      int equals = resource.indexOf('=');
      String name = (equals < 0 ? resource : resource.substring(0, equals)).strip();
      int count = 1;
      if (equals >= 0) {
        try {
          count = Integer.parseInt(resource.substring(equals + 1).strip());
        } catch (NumberFormatException e) {
          count = 0;
        }
      }
      if (name.isEmpty() || name.chars().anyMatch(Character::isWhitespace)) {
        throw usage("--resource expects NAME or NAME=N, got '" + resource + "'");
      }
      if (count < 1) {
        throw usage(
            "--resource "
                + name
                + ": N must be a whole number of at least 1, got '"
                + resource
                + "'");
      }
      if (parsed.putIfAbsent(name, count) != null) {
        throw usage("--resource " + name + " is given twice");
      }
    }
    return parsed;
  }

  @Override
  int run(KueueClient client) throws Exception {
    KueueConfig.Client defaults = context.config().client();
    List<String> argv = new ArrayList<>();
    if (program != null) {
      argv.add(program);
      argv.addAll(arguments);
    }
    JobSpec job =
        JobSpecBuilder.builder()
            .argv(argv)
            .cwd(cwd.toString())
            .env(noEnvironment ? null : EnvironmentFilter.forJob(context.environment()))
            .slots(jobSlots)
            .cpus(cpus != null ? cpus : defaults.jobDefaultCpus())
            .ramMb(ramMb != null ? ramMb : defaults.jobDefaultRamMb())
            .globalResources(globalResources)
            .workerResources(workerResources)
            .gpuRamMb(gpuRamMb == null ? 0L : gpuRamMb)
            .stdout(stdout)
            .stderr(stderr)
            .timeLimitSeconds(
                timeLimitSeconds != null ? timeLimitSeconds : defaults.jobDefaultTimeLimitSeconds())
            .retries(retries == null || retries == 0 ? null : retries)
            .retryDelaySeconds(retryDelaySeconds)
            .submissionKey(ServerRestarts.newSubmissionKey())
            .priority(priority)
            .hold(hold)
            .dependencies(dependencies)
            .keepChildren(keepChildren)
            .umask(context.umask())
            .build();
    try (ServerRestarts server = ridingOutRestarts(client)) {
      if (entries != null) {
        return submitBatch(server, job);
      }
      Message.Submitted submitted =
          server.request(new Message.Submit(List.of(job)), Message.Submitted.class, SUBMITTING);
      if (json) {
        JsonOutput.print(out(), submitted);
      } else if (follow) {
        // stdout is the job's own output
        err().println("kueue: job " + submitted.ids().getFirst());
      } else {
        for (long id : submitted.ids()) {
          out().println(id);
        }
      }
      out().flush();
      if (follow) {
        return follow(server.connection(), submitted.ids().getFirst(), null);
      }
      if (!await) {
        if (!dependencies.isEmpty() && !json) {
          sayIfCanceledAtOnce(server, submitted.ids().getFirst(), null);
        }
        return ExitCodes.OK;
      }
      context.interruptHint(WaitJobCommand.jobsHint("waiting", submitted.ids()));
      try {
        return WaitJobCommand.waitFor(server, submitted.ids(), err());
      } catch (CliException e) {
        if (e.exitCode() != ExitCodes.SERVER_UNREACHABLE) {
          throw e;
        }
        // The job was stored before the server went away, so it is not lost: say how to go on.
        String ids = submitted.ids().stream().map(String::valueOf).collect(Collectors.joining(" "));
        throw new CliException(
            e.exitCode(),
            e.getMessage()
                + "; the job is stored and may still be running, wait again with: kueue wait-job "
                + ids,
            e);
      } finally {
        context.interruptHint(null);
      }
    }
  }

  /** What the line printed when the server goes away during the submission says. */
  private static final String SUBMITTING =
      "the submission is sent again when it is back, and creates its jobs only once";

  @Override
  KueueClient connectForRun() throws Exception {
    return connectUnlessRestarting();
  }

  /**
   * A job whose dependency can no longer hold (its parent already failed) is canceled as it is
   * stored: said at once rather than left for the next list-jobs to show.
   */
  private void sayIfCanceledAtOnce(ServerRestarts server, long id, Message.BatchSubmitted batch) {
    JobSummary job;
    try {
      job =
          server
              .connection()
              .request(new Message.ShowJob(id), Message.JobDetails.class)
              .job()
              .summary();
    } catch (CliException e) {
      return; // the job is stored: the submission succeeded, and list-jobs will tell
    }
    if (job.state() == JobState.CANCELED) {
      err()
          .println(
              "kueue: "
                  + (batch == null
                      ? "job " + id + " was"
                      : "the " + batch.ids().size() + " jobs of batch " + batch.batch() + " were")
                  + " canceled at once"
                  + (job.note() == null ? "" : ": " + job.note()));
    }
  }

  private int submitBatch(ServerRestarts server, JobSpec shared) throws CliException {
    Message.SubmitBatch request = new Message.SubmitBatch(shared, entries);
    checkSize(request);
    Message.BatchSubmitted submitted =
        server.request(request, Message.BatchSubmitted.class, SUBMITTING);
    if (json) {
      JsonOutput.print(out(), submitted);
    } else {
      (follow ? err() : out()).println(BatchFormat.submitted(submitted));
    }
    out().flush();
    if (follow) {
      return follow(server.connection(), submitted.batch(), submitted);
    }
    if (!await) {
      if (!dependencies.isEmpty() && !json) {
        // The jobs of a batch share its dependencies: its first job tells for all of them.
        sayIfCanceledAtOnce(server, submitted.ids().getFirst(), submitted);
      }
      return ExitCodes.OK;
    }
    context.interruptHint(WaitJobCommand.batchHint("waiting", submitted.batch()));
    try {
      return WaitJobCommand.waitForBatch(server, submitted.batch(), err());
    } catch (CliException e) {
      if (e.exitCode() != ExitCodes.SERVER_UNREACHABLE) {
        throw e;
      }
      throw new CliException(
          e.exitCode(),
          e.getMessage()
              + "; the batch is stored and may still be running, wait again with: kueue wait-job"
              + " --batch "
              + submitted.batch(),
          e);
    } finally {
      context.interruptHint(null);
    }
  }

  /**
   * Prints the job's (or batch's) output as it is written and exits like --wait. Ctrl-C ends only
   * the following: the job goes on, and the hint says how to come back to it or stop it.
   */
  private int follow(KueueClient client, long id, Message.BatchSubmitted batch)
      throws CliException {
    OutputFollower follower =
        new OutputFollower(out(), err(), OutputFollower.Layout.SPLIT, true, true, batch != null);
    if (batch == null) {
      follower.add(id, null, null);
    } else {
      for (int i = 0; i < batch.ids().size(); i++) {
        follower.add(batch.ids().get(i), null, "[" + entries.get(i).index() + "] ");
      }
    }
    context.interruptHint(
        batch == null
            ? WaitJobCommand.jobsHint("following", List.of(id))
            : WaitJobCommand.batchHint("following", id));
    KueueClient last = client;
    try {
      last = follower.follow(client, context::connect);
      try (ServerRestarts server = ridingOutRestarts(last)) {
        return batch == null
            ? WaitJobCommand.waitFor(server, List.of(id), err())
            : WaitJobCommand.waitForBatch(server, id, err());
      }
    } finally {
      context.interruptHint(null);
      if (last != client) {
        last.close();
      }
    }
  }

  /**
   * A message over the protocol's limit would make the server hang up; say instead what to do. Only
   * long command files come near the limit, so only their size is measured exactly.
   */
  private void checkSize(Message.SubmitBatch request) throws CliException {
    long estimate = 0;
    for (BatchEntry entry : entries) {
      estimate += 48;
      if (entry.argv() != null) {
        for (String arg : entry.argv()) {
          estimate += arg.length() * 2L + 4;
        }
      }
    }
    if (estimate < MessageCodec.MAX_MESSAGE_BYTES / 2) {
      return;
    }
    int size = MessageCodec.encode(request).length;
    if (size > MessageCodec.MAX_MESSAGE_BYTES) {
      throw new CliException(
          ExitCodes.USAGE_OR_CONFIG,
          "the "
              + entries.size()
              + " jobs take "
              + size / (1024 * 1024)
              + " MiB, more than the "
              + MessageCodec.MAX_MESSAGE_BYTES / (1024 * 1024)
              + " MiB one submission may have; split "
              + (file == null ? "the array" : file)
              + " into smaller batches");
    }
  }
}
