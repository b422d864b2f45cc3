package kueue.client;

import kueue.config.DurationText;
import kueue.model.JobUpdate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

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

  @Option(
      names = {"-t", "--time"},
      paramLabel = "DURATION",
      description = {
        "The new time limit (as for cmd --time: 90s, 30m, 2h, 1h30m, 1d or [D-]HH:MM:SS);"
            + " none or 0 removes the limit."
      })
  String time;

  @Option(
      names = "--retries",
      paramLabel = "N",
      description = "How many times the job may run again after a non-zero exit; 0 for never.")
  Integer retries;

  private Long timeLimitSeconds;

  UpdateJobCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if (time != null) {
      String text = time.strip();
      if (text.equalsIgnoreCase("none") || text.equals("0")) {
        timeLimitSeconds = 0L;
      } else {
        try {
          timeLimitSeconds = DurationText.seconds(text);
        } catch (IllegalArgumentException e) {
          throw new ParameterException(spec.commandLine(), "--time: " + e.getMessage());
        }
      }
    }
    if (retries != null && retries < 0) {
      throw new ParameterException(
          spec.commandLine(), "--retries must not be negative, got " + retries);
    }
    super.prepare();
  }

  @Override
  JobUpdate update() {
    return new JobUpdate(null, priority, timeLimitSeconds, retries);
  }

  @Override
  String done() {
    return "updated";
  }
}
