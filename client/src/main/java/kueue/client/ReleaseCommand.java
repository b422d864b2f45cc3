package kueue.client;

import kueue.model.JobUpdate;
import picocli.CommandLine.Command;

/** {@code kueue release}: lets held jobs start. */
@Command(
    name = "release",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Release held jobs (cmd --hold, kueue hold): they start when a worker has room, or wait for"
          + " their dependencies first.",
      "A job that is not held is listed on stderr and the exit code is 5."
    })
final class ReleaseCommand extends UpdateJobsCommand {
  ReleaseCommand(CliContext context) {
    super(context);
  }

  @Override
  JobUpdate update() {
    return JobUpdate.holding(false);
  }

  @Override
  String done() {
    return "released";
  }
}
