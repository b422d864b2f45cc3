package kueue.client;

import java.util.List;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code kueue log}: a job's output so far, or followed live until it ends. */
@Command(
    name = "log",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Print what is kept of a job's stdout and stderr (for a running job, what it wrote so far).",
      "Both streams come in the order the job wrote them; when stdout is not a terminal, each"
          + " line of stderr is marked [stderr]. With --follow, output is printed as the job"
          + " writes it, until the job ends; the exit code is then the job's (as for wait-job)."
          + " A pending job is waited for. When the job has run more than once (a retry, a"
          + " requeue, a lost worker), its attempt's section starts with a line"
          + " [kueue: attempt N on WORKER, exit CODE]; the output of the last "
          + "10 attempts is kept, and --attempt N shows an earlier one.",
      "Following survives a server restart or a short network break: it goes on from the last"
          + " byte printed."
    })
final class LogCommand extends ServerCommand {
  @Parameters(arity = "0..1", paramLabel = "ID", description = "The job id.")
  Long id;

  @Option(
      names = {"-f", "--follow"},
      description = "Print the output as it is written, until the job (or batch) has ended.")
  boolean follow;

  @Option(
      names = "--batch",
      paramLabel = "BATCH",
      description =
          "Every job of this batch, each line prefixed with the job's index ([7] ...), until"
              + " the batch has ended.")
  Long batch;

  @Option(
      names = "--attempt",
      paramLabel = "N",
      description =
          "The output of the job's attempt N (1 = the first) instead of its current one; with"
              + " --follow, the attempts after it follow.")
  Integer attempt;

  @Option(names = "--stdout", description = "Only stdout.")
  boolean onlyStdout;

  @Option(names = "--stderr", description = "Only stderr.")
  boolean onlyStderr;

  LogCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if ((id == null) == (batch == null)) {
      throw new ParameterException(spec.commandLine(), "give a job id or --batch BATCH");
    }
    if (attempt != null && (batch != null || attempt < 1)) {
      throw new ParameterException(
          spec.commandLine(), "--attempt takes a number from 1 on, for one job (not --batch)");
    }
    if (onlyStdout && onlyStderr) {
      throw new ParameterException(
          spec.commandLine(), "give --stdout or --stderr, or neither for both");
    }
  }

  /** Whether the job (one, not --batch) started at least once before; set by run. */
  private boolean ranBefore;

  @Override
  int run(KueueClient client) throws Exception {
    boolean terminal = context.stdoutIsTerminal();
    OutputFollower follower =
        new OutputFollower(
            out(),
            err(),
            terminal ? OutputFollower.Layout.SPLIT : OutputFollower.Layout.MARKED,
            !onlyStderr,
            !onlyStdout,
            batch != null);
    if (batch != null) {
      List<JobSummary> jobs =
          client.request(new Message.ListJobs(0, List.of(), batch), Message.JobList.class).jobs();
      for (JobSummary job : jobs) {
        follower.add(job.id(), null, "[" + job.arrayIndex() + "] ");
      }
    } else {
      // How the job's earlier attempts ended, for the headers of their sections.
      JobDetail detail = client.request(new Message.ShowJob(id), Message.JobDetails.class).job();
      int attempts = detail.summary().attempt();
      if (attempt != null && attempt > attempts) {
        throw new CliException(
            ExitCodes.REQUEST_FAILED,
            "job "
                + id
                + " has no attempt "
                + attempt
                + ": it has had "
                + (attempts == 1 ? "1 attempt" : attempts + " attempts"));
      }
      List<JobEvent> history = detail.history();
      follower.knowHistory(history);
      ranBefore = history.stream().anyMatch(event -> event.what().equals("started"));
      follower.add(id, attempt, null);
    }
    if (!follow) {
      if (attempt != null) {
        follower.oneAttemptOnly();
      }
      follower.printOnce(client);
      for (JobSummary job : follower.lastSeen()) {
        if (attempt == null && !job.state().isTerminal() && job.state() != JobState.RUNNING) {
          // A job waiting for its retry (or requeued) has run before: its last output is above.
          String why = job.note() == null ? "" : " (" + job.note() + ")";
          err()
              .println(
                  "kueue: job "
                      + job.id()
                      + (ranBefore
                          ? " waits to run again" + why + "; above is what its last attempt printed"
                          : " has not started yet" + why));
        }
      }
      return ExitCodes.OK;
    }
    context.interruptHint(
        batch != null
            ? WaitJobCommand.batchHint("following", batch)
            : WaitJobCommand.jobsHint("following", List.of(id)));
    KueueClient last = client;
    try {
      last = follower.follow(client, context::connect);
    } catch (CliException | RuntimeException e) {
      context.interruptHint(null);
      throw e;
    }
    try (ServerRestarts server = ridingOutRestarts(last)) {
      if (batch != null) {
        return WaitJobCommand.waitForBatch(server, batch, err());
      }
      return WaitJobCommand.waitFor(server, List.of(id), err());
    } finally {
      context.interruptHint(null);
      if (last != client) {
        last.close();
      }
    }
  }
}
