package kueue.client;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import kueue.config.DurationText;
import kueue.model.CapturedOutput;
import kueue.model.DependencyStatus;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobSpec;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.model.OutputTarget;
import kueue.model.WorkerResources;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kueue show-job}: every field of one job, its history and its captured output. */
@Command(
    name = "show-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = "Show everything about one job, including its captured stdout and stderr.")
final class ShowJobCommand extends ServerCommand {
  @Parameters(paramLabel = "ID", description = "Job id.")
  long id;

  @Option(names = "--json", description = "Print JSON (see docs/JSON.md).")
  boolean json;

  ShowJobCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    JobDetail detail = client.request(new Message.ShowJob(id), Message.JobDetails.class).job();
    if (json) {
      JsonOutput.print(out(), detail);
    } else {
      print(detail, context.clock().instant(), terminal().colors(), out());
    }
    return ExitCodes.OK;
  }

  static void print(JobDetail detail, Instant now, boolean colors, PrintWriter out) {
    JobSummary job = detail.summary();
    JobSpec spec = detail.spec();
    List<String[]> fields = new ArrayList<>();
    // An attempt started before, of a job that waits again (for its retry, or requeued): the
    // output below is that attempt's.
    boolean ranBefore =
        detail.history() != null
            && detail.history().stream().anyMatch(event -> "started".equals(event.what()));
    fields.add(field("status", JobFormat.style(job).apply(JobFormat.status(job), colors)));
    if (job.note() != null && !job.note().isBlank()) {
      boolean notStarted = !job.state().isTerminal() && !job.state().isOnWorker();
      fields.add(field(notStarted ? "waiting because" : "reason", job.note()));
    }
    if (job.batch() != null) {
      fields.add(
          field(
              "batch",
              job.batch()
                  + (job.arrayIndex() == null ? "" : ", index " + job.arrayIndex())
                  + " (list-jobs --batch "
                  + job.batch()
                  + ")"));
    }
    fields.add(field("command", spec != null ? spec.commandLine() : job.command()));
    fields.add(field("working directory", job.cwd()));
    fields.add(field("worker", JobFormat.worker(job)));
    fields.add(
        field(
            "attempt",
            JobFormat.waits(job) && !ranBefore && job.started() == null && job.attempt() > 0
                ? "none started (offered "
                    + (job.attempt() == 1 ? "once" : job.attempt() + " times")
                    + ", see the history)"
                : String.valueOf(job.attempt())));
    fields.add(field("submitted", JobFormat.timeAndAge(job.submitted(), now)));
    fields.add(field("started", JobFormat.timeAndAge(job.started(), now)));
    fields.add(field("ended", JobFormat.timeAndAge(job.ended(), now)));
    fields.add(field("run time", JobFormat.runtime(job, now)));
    if (job.state() == JobState.FINISHED || job.state() == JobState.TIMED_OUT) {
      fields.add(field("exit code", exitText(job)));
    }
    fields.add(field("reserves", reservation(job, spec)));
    if (spec != null && spec.timeLimitSeconds() != null) {
      fields.add(field("time limit", DurationText.format(spec.timeLimitSeconds())));
    }
    if (spec != null && spec.retriesAllowed() > 0) {
      Long delay = spec.retryDelaySeconds();
      fields.add(
          field(
              "retries",
              spec.retriesAllowed()
                  + (delay == null || delay <= 0
                      ? ""
                      : ", " + DurationText.format(delay) + " apart")));
    }
    if (spec != null && !spec.workerResources().isEmpty()) {
      fields.add(field("devices", devices(job, detail.devices())));
    }
    if (spec != null && spec.priority() != 0) {
      fields.add(field("priority", String.valueOf(spec.priority())));
    }
    if (!detail.dependencies().isEmpty()) {
      fields.add(field("depends on", dependencies(detail.dependencies())));
    }
    if (spec != null && spec.keepChildren()) {
      fields.add(field("leftovers", "kept running (--keep-children)"));
    }
    fields.add(
        field(
            "environment",
            detail.envVariables() < 0
                ? "the worker's (--no-env)"
                : detail.envVariables() + " variables from the submitting shell"));
    fields.add(field("stdout", target(spec == null ? null : spec.stdout())));
    fields.add(field("stderr", target(spec == null ? null : spec.stderr())));

    out.println("job " + job.id());
    int labelWidth = fields.stream().mapToInt(f -> f[0].length()).max().orElse(0) + 1;
    for (String[] f : fields) {
      out.println("  " + pad(f[0] + ":", labelWidth) + " " + f[1]);
    }

    out.println();
    out.println("history:");
    if (detail.history() == null || detail.history().isEmpty()) {
      out.println("  (none)");
    } else {
      printHistory(detail.history(), out);
    }
    boolean ended = job.state().isTerminal() || (JobFormat.waits(job) && ranBefore);
    printOutput("stdout", spec == null ? null : spec.stdout(), detail.stdout(), ended, job, out);
    printOutput("stderr", spec == null ? null : spec.stderr(), detail.stderr(), ended, job, out);
  }

  /** Shown one by one up to this many; beyond, counted per state. */
  private static final int DEPENDENCIES_LISTED = 20;

  /** "afterok 12 (finished (0)), afterany 13 (running)", or counts per state for many. */
  private static String dependencies(List<DependencyStatus> dependencies) {
    if (dependencies.size() <= DEPENDENCIES_LISTED) {
      List<String> parts = new ArrayList<>();
      for (DependencyStatus dependency : dependencies) {
        parts.add(
            dependency.kind().label()
                + " "
                + dependency.parentId()
                + " ("
                + parentState(dependency)
                + ")");
      }
      return String.join(", ", parts);
    }
    java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
    for (DependencyStatus dependency : dependencies) {
      counts.merge(dependency.kind().label() + " " + parentState(dependency), 1, Integer::sum);
    }
    List<String> parts = new ArrayList<>();
    counts.forEach((what, count) -> parts.add(count + " x " + what));
    return dependencies.size() + " jobs: " + String.join(", ", parts);
  }

  private static String parentState(DependencyStatus dependency) {
    if (dependency.parentState() == null) {
      return "no longer stored";
    }
    return JobFormat.status(
        kueue.model.JobSummaryBuilder.builder()
            .id(dependency.parentId())
            .state(dependency.parentState())
            .exitCode(dependency.parentExitCode())
            .build());
  }

  /**
   * What happened before the first placement, then one block per attempt (each run of the job on a
   * worker), so that every run and how it ended (declined, lost, superseded, finished) reads as a
   * unit.
   */
  private static void printHistory(List<JobEvent> history, PrintWriter out) {
    int attempt = 0;
    String attemptWorker = null;
    for (int i = 0; i < history.size(); i++) {
      JobEvent event = history.get(i);
      // Attempt 0 is the time before the first placement.
      if (event.attempt() > 0 && event.attempt() != attempt) {
        attempt = event.attempt();
        attemptWorker = workerOf(history, i);
        out.println(
            "  attempt " + attempt + (attemptWorker == null ? "" : " on " + attemptWorker) + ":");
      }
      boolean inAttempt = event.attempt() > 0;
      StringBuilder line = new StringBuilder(inAttempt ? "    " : "  ");
      line.append(JobFormat.time(event.time()));
      line.append("  ").append(event.what());
      String worker = event.worker();
      if (worker != null && !worker.isBlank() && !(inAttempt && worker.equals(attemptWorker))) {
        line.append(" on ").append(worker);
      }
      if (event.detail() != null && !event.detail().isBlank()) {
        line.append(": ").append(event.detail());
      }
      out.println(line);
    }
  }

  /** The worker of the attempt that starts at history[from], if its events name one. */
  private static String workerOf(List<JobEvent> history, int from) {
    int attempt = history.get(from).attempt();
    for (int i = from; i < history.size() && history.get(i).attempt() == attempt; i++) {
      String worker = history.get(i).worker();
      if (worker != null && !worker.isBlank()) {
        return worker;
      }
    }
    return null;
  }

  private static String exitText(JobSummary job) {
    if (job.exitCode() != null) {
      return String.valueOf(job.exitCode());
    }
    if (job.signal() != null) {
      return "none, killed by "
          + JobFormat.signalName(job.signal())
          + " (signal "
          + job.signal()
          + ")";
    }
    return "none, the job could not be started";
  }

  private static String reservation(JobSummary job, JobSpec spec) {
    StringBuilder text = new StringBuilder();
    text.append(job.slots()).append(job.slots() == 1 ? " slot, " : " slots, ");
    text.append(job.cpus()).append(job.cpus() == 1 ? " CPU, " : " CPUs, ");
    text.append(job.ramMb()).append(" MB RAM");
    if (spec != null) {
      for (Map.Entry<String, Integer> resource : spec.globalResources().entrySet()) {
        text.append(", ").append(resource.getKey()).append('=').append(resource.getValue());
      }
      for (Map.Entry<String, Double> device : new TreeMap<>(spec.workerResources()).entrySet()) {
        text.append(", ").append(deviceAmount(device.getKey(), device.getValue()));
        if (device.getKey().equals(WorkerResources.GPUS) && spec.gpuRamMb() > 0) {
          text.append(" with ").append(spec.gpuRamMb()).append(" MiB free");
        }
      }
    }
    return text.toString();
  }

  /** "2 GPUs", "0.5 of a GPU", "fpga=1". */
  static String deviceAmount(String resource, double amount) {
    if (!resource.equals(WorkerResources.GPUS)) {
      return resource + "=" + WorkerResources.format(amount);
    }
    if (amount < 1) {
      return WorkerResources.format(amount) + " of a GPU";
    }
    return WorkerResources.format(amount) + (amount == 1 ? " GPU" : " GPUs");
  }

  /** The devices of the current or last attempt: "GPU 0, 2 on ralab04". */
  private static String devices(JobSummary job, Map<String, List<Integer>> devices) {
    if (devices.isEmpty()) {
      return job.state() == JobState.PENDING ? "not assigned yet" : "-";
    }
    List<String> parts = new java.util.ArrayList<>();
    for (Map.Entry<String, List<Integer>> assigned : new TreeMap<>(devices).entrySet()) {
      String word = WorkerResources.deviceWord(assigned.getKey());
      parts.add(
          word
              + " "
              + String.join(", ", assigned.getValue().stream().map(String::valueOf).toList()));
    }
    String where = job.worker() == null ? "" : " on " + job.worker();
    String when = job.state() == JobState.PENDING ? " (last attempt)" : "";
    return String.join("; ", parts) + where + when;
  }

  private static String target(String target) {
    if (OutputTarget.isCaptured(target)) {
      return "captured (shown below)";
    }
    if (OutputTarget.isDiscarded(target)) {
      return "discarded";
    }
    return "written to " + target;
  }

  /**
   * The kept output of the attempt shown: what was captured, or the end of the file the job wrote
   * with -o/-e as its worker read it when the attempt ended.
   */
  private static void printOutput(
      String name,
      String target,
      CapturedOutput captured,
      boolean ended,
      JobSummary job,
      PrintWriter out) {
    CapturedOutput output = captured == null ? CapturedOutput.EMPTY : captured;
    boolean toFile = !OutputTarget.isCaptured(target) && !OutputTarget.isDiscarded(target);
    if (OutputTarget.isDiscarded(target) || (toFile && output.text().isEmpty())) {
      return;
    }
    out.println();
    String label = toFile ? name + " (from " + target + ")" : name;
    if (output.truncated()) {
      out.println(
          label
              + " (truncated: the first "
              + output.droppedBytes()
              + " bytes were dropped, the last "
              + output.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
              + " bytes follow):");
    } else if (output.text().isEmpty()) {
      out.println(
          label
              + (ended
                  ? ": (empty)"
                  : ": (shown here once the job has ended; kueue log "
                      + job.id()
                      + " shows it"
                      + " as it is written)"));
      return;
    } else {
      out.println(label + ":");
    }
    out.print(output.text());
    if (!output.text().endsWith("\n")) {
      out.println();
      out.println("(no newline at end of " + name + ")");
    }
  }

  private static String[] field(String label, String value) {
    return new String[] {label, value == null ? "-" : value};
  }

  private static String pad(String text, int width) {
    return text.length() >= width ? text : text + " ".repeat(width - text.length());
  }
}
