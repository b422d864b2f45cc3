package kueue.client;

import kueue.model.JobUpdate;
import picocli.CommandLine.Command;

/** {@code kueue hold}: keeps jobs that have not started from starting until released. */
@Command(
    name = "hold",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Hold pending or waiting jobs: they do not start until kueue release.",
      "A job that has started cannot be held; it is listed on stderr and the exit code is 5."
    })
final class HoldCommand extends UpdateJobsCommand {
  HoldCommand(CliContext context) {
    super(context);
  }

  @Override
  JobUpdate update() {
    return JobUpdate.holding(true);
  }

  @Override
  String done() {
    return "held";
  }
}
