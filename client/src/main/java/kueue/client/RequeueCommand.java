package kueue.client;

import java.util.List;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/** {@code kueue requeue}: puts ended jobs back in the queue under their ids. */
@Command(
    name = "requeue",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Put ended jobs (finished, failed or canceled) back in the queue as new attempts of the same"
          + " job ids; show-job keeps the earlier attempts in the history.",
      "Jobs canceled because a dependency on one of them failed come back too, waiting for it"
          + " again. wait-job then waits for the new end.",
      "A job that has not ended is listed on stderr and the exit code is 5."
    })
final class RequeueCommand extends ServerCommand {
  @Parameters(arity = "0..*", paramLabel = "ID", description = "Job ids.")
  List<Long> ids = List.of();

  @Option(
      names = "--batch",
      paramLabel = "BATCH",
      description = "The ended jobs of this batch (the id printed by cmd --array/--file).")
  Long batch;

  @Option(names = "--failed", description = "With --batch: only its failed jobs.")
  boolean failed;

  @Option(names = "--json", description = "Print the jobs requeued and skipped as JSON.")
  boolean json;

  RequeueCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if (ids.isEmpty() == (batch == null)) {
      throw new ParameterException(spec.commandLine(), "give job IDs or --batch BATCH");
    }
    if (failed && batch == null) {
      throw new ParameterException(spec.commandLine(), "--failed goes with --batch BATCH");
    }
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.JobsUpdated answer =
        client.request(
            new Message.Requeue(batch == null ? ids : null, batch, failed),
            Message.JobsUpdated.class);
    if (json) {
      JsonOutput.print(out(), answer);
    } else if (!answer.updated().isEmpty()) {
      int count = answer.updated().size();
      out().println(count + (count == 1 ? " job" : " jobs") + " requeued: " + ids(answer));
    }
    for (String skipped : answer.skipped()) {
      err().println("kueue: " + skipped);
    }
    return answer.skipped().isEmpty() ? ExitCodes.OK : ExitCodes.REQUEST_FAILED;
  }

  private static String ids(Message.JobsUpdated answer) {
    List<Long> updated = answer.updated();
    if (updated.size() <= 20) {
      return String.join(" ", updated.stream().map(String::valueOf).toList());
    }
    return updated.getFirst() + " ... " + updated.getLast();
  }
}
