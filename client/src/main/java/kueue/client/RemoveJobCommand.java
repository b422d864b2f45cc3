package kueue.client;

import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code kueue remove-job}: cancels a job or a batch; running jobs only with --kill. */
@Command(
    name = "remove-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Cancel a pending or offered job; a running one only with --kill.",
      "With --batch BATCH: cancel every pending job of the batch in one request, and with --kill"
          + " its offered and running ones too."
    })
final class RemoveJobCommand extends ServerCommand {
  @Parameters(arity = "0..1", paramLabel = "ID", description = "Job id.")
  Long id;

  @Option(
      names = "--batch",
      paramLabel = "BATCH",
      description = "Cancel the jobs of this batch (the id printed by cmd --array/--file).")
  Long batch;

  @Option(
      names = {"-k", "--kill"},
      description = "Also stop running jobs (their whole process tree) on their workers.")
  boolean kill;

  @Option(names = "--json", description = "Print the job (or batch) after the change as JSON.")
  boolean json;

  RemoveJobCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if ((id == null) == (batch == null)) {
      throw new ParameterException(spec.commandLine(), "give a job ID or --batch BATCH");
    }
  }

  @Override
  int run(KueueClient client) throws CliException {
    if (batch != null) {
      return removeBatch(client);
    }
    Message.JobRemoved removed =
        client.request(new Message.RemoveJob(id, kill), Message.JobRemoved.class);
    if (json) {
      JsonOutput.print(out(), removed);
      return ExitCodes.OK;
    }
    JobSummary job = removed.job();
    if (job.state() == JobState.CANCELED) {
      out().println("job " + job.id() + " canceled");
    } else {
      out().println("job " + job.id() + ": cancel requested, now " + JobFormat.status(job));
    }
    return ExitCodes.OK;
  }

  private int removeBatch(KueueClient client) throws CliException {
    Message.BatchRemoved removed =
        client.request(new Message.RemoveBatch(batch, kill), Message.BatchRemoved.class);
    if (json) {
      JsonOutput.print(out(), removed);
    }
    String left =
        removed.left() == 0
            ? ""
            : removed.left()
                + (removed.left() == 1 ? " job is" : " jobs are")
                + " still running; use --kill to stop them";
    if (removed.canceled() == 0) {
      err().println("batch " + batch + ": nothing canceled; " + left);
      return ExitCodes.REQUEST_FAILED;
    }
    if (!json) {
      String canceled =
          "batch "
              + batch
              + ": canceled "
              + removed.canceled()
              + (removed.canceled() == 1 ? " job" : " jobs");
      out().println(left.isEmpty() ? canceled : canceled + "; " + left);
    }
    return ExitCodes.OK;
  }
}
