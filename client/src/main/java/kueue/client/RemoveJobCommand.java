package kueue.client;

import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kueue remove-job}: cancels a job; a running one only with --kill. */
@Command(
    name = "remove-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = "Cancel a pending or offered job; a running one only with --kill.")
final class RemoveJobCommand extends ServerCommand {
  @Parameters(paramLabel = "ID", description = "Job id.")
  long id;

  @Option(
      names = {"-k", "--kill"},
      description = "Also stop a running job (its whole process tree) on its worker.")
  boolean kill;

  @Option(names = "--json", description = "Print the job after the change as JSON.")
  boolean json;

  RemoveJobCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
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
}
