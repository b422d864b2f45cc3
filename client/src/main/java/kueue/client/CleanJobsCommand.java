package kueue.client;

import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kueue clean-jobs}: forgets ended jobs. */
@Command(
    name = "clean-jobs",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = "Forget succeeded and canceled jobs; with --all failed and timed-out ones too.")
final class CleanJobsCommand extends ServerCommand {
  @Option(
      names = {"-a", "--all"},
      description = "Also forget failed and timed-out jobs.")
  boolean all;

  @Option(names = "--json", description = "Print {\"removed\": N}.")
  boolean json;

  CleanJobsCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.JobsCleaned cleaned =
        client.request(new Message.CleanJobs(all), Message.JobsCleaned.class);
    if (json) {
      JsonOutput.print(out(), cleaned);
    } else {
      out().println("removed " + cleaned.removed() + (cleaned.removed() == 1 ? " job" : " jobs"));
    }
    return ExitCodes.OK;
  }
}
