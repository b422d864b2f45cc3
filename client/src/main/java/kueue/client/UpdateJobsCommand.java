package kueue.client;

import java.util.List;
import kueue.model.JobUpdate;
import kueue.protocol.Message;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * What {@code hold}, {@code release} and {@code update-job} share: jobs named by id or by batch,
 * one request, and a line per job that was left as it was.
 */
abstract class UpdateJobsCommand extends ServerCommand {
  @Parameters(arity = "0..*", paramLabel = "ID", description = "Job ids.")
  List<Long> ids = List.of();

  @Option(
      names = "--batch",
      paramLabel = "BATCH",
      description = "All jobs of this batch that have not ended (the id printed by cmd --array).")
  Long batch;

  @Option(names = "--json", description = "Print the jobs changed and skipped as JSON.")
  boolean json;

  UpdateJobsCommand(CliContext context) {
    super(context);
  }

  /** The change to ask for; called after the options are parsed. */
  abstract JobUpdate update();

  /** What was done, for "N jobs held". */
  abstract String done();

  @Override
  void prepare() {
    if (ids.isEmpty() == (batch == null)) {
      throw new ParameterException(spec.commandLine(), "give job IDs or --batch BATCH");
    }
    if (update().isEmpty()) {
      throw new ParameterException(spec.commandLine(), "nothing to change");
    }
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.JobsUpdated answer =
        client.request(
            new Message.UpdateJobs(batch == null ? ids : null, batch, update()),
            Message.JobsUpdated.class);
    if (json) {
      JsonOutput.print(out(), answer);
    } else {
      int count = answer.updated().size();
      if (count > 0) {
        out().println(count + (count == 1 ? " job " : " jobs ") + done());
      }
    }
    for (String skipped : answer.skipped()) {
      err().println("kueue: " + skipped);
    }
    return answer.skipped().isEmpty() ? ExitCodes.OK : ExitCodes.REQUEST_FAILED;
  }
}
