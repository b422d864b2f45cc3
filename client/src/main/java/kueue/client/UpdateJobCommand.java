package kueue.client;

import kueue.model.JobUpdate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kueue update-job}: changes jobs that have not started. */
@Command(
    name = "update-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Change jobs that have not started (pending, held or waiting).",
      "A job that has started or ended is listed on stderr and the exit code is 5."
    })
final class UpdateJobCommand extends UpdateJobsCommand {
  @Option(
      names = "--priority",
      paramLabel = "N",
      description = "The new priority: higher starts first.")
  Integer priority;

  UpdateJobCommand(CliContext context) {
    super(context);
  }

  @Override
  JobUpdate update() {
    return new JobUpdate(null, priority);
  }

  @Override
  String done() {
    return "updated";
  }
}
