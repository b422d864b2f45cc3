package kueue.client;

import java.util.List;
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
          + " A pending job is waited for. A new attempt of the job (after its worker was lost)"
          + " starts a section marked [kueue: attempt N].",
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
    if (onlyStdout && onlyStderr) {
      throw new ParameterException(
          spec.commandLine(), "give --stdout or --stderr, or neither for both");
    }
  }

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
      follower.add(id, null, null);
    }
    if (!follow) {
      follower.printOnce(client);
      for (JobSummary job : follower.lastSeen()) {
        if (job.state() == JobState.PENDING || job.state() == JobState.OFFERED) {
          err().println("kueue: job " + job.id() + " has not started yet");
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
