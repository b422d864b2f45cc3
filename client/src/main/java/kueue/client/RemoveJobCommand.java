package kueue.client;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
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
      "Cancel pending or offered jobs; running ones only with --kill. With several ids, each is"
          + " tried: one that cannot be canceled is reported and the rest go on (exit 5 if any"
          + " could not).",
      "With --batch BATCH: cancel every pending job of the batch in one request, and with --kill"
          + " its offered and running ones too."
    })
final class RemoveJobCommand extends ServerCommand {
  @Parameters(arity = "0..*", paramLabel = "ID", description = "Job ids.")
  List<Long> ids = new ArrayList<>();

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
    if (ids.isEmpty() == (batch == null)) {
      throw new ParameterException(spec.commandLine(), "give job IDs or --batch BATCH");
    }
  }

  @Override
  int run(KueueClient client) throws CliException {
    if (batch != null) {
      return removeBatch(client);
    }
    if (ids.size() == 1) {
      return print(
          client.request(new Message.RemoveJob(ids.getFirst(), kill), Message.JobRemoved.class));
    }
    int exitCode = ExitCodes.OK;
    for (long id : new LinkedHashSet<>(ids)) {
      try {
        print(client.request(new Message.RemoveJob(id, kill), Message.JobRemoved.class));
      } catch (CliException e) {
        if (e.exitCode() != ExitCodes.REQUEST_FAILED) {
          throw e; // the server is gone or refuses us: the next ones would fail the same way
        }
        err().println("kueue: " + e.getMessage());
        exitCode = ExitCodes.REQUEST_FAILED;
      }
    }
    return exitCode;
  }

  private int print(Message.JobRemoved removed) {
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
