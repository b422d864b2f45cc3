package kueue.client;

import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kueue list-workers}: the connected workers and how busy they are. */
@Command(
    name = "list-workers",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Show the connected workers: OS, cores, frequency, memory, running jobs, how busy they are"
          + " (CPUs reserved plus those other programs use, or job slots taken), load averages and"
          + " uptime. Where workers measure other programs' use: kueue (CPUs c and GB G its"
          + " jobs reserve), others (what other programs use, over the last 5 s) and free."
    })
final class ListWorkersCommand extends ServerCommand {
  @Option(names = "--json", description = "Print JSON (see docs/JSON.md).")
  boolean json;

  ListWorkersCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.WorkerList list = client.request(new Message.ListWorkers(), Message.WorkerList.class);
    if (json) {
      JsonOutput.print(out(), list);
    } else if (list.workers().isEmpty()) {
      out().println("no workers connected");
    } else {
      WorkerFormat.render(list.workers(), terminal().width(), terminal().colors())
          .forEach(out()::println);
    }
    return ExitCodes.OK;
  }
}
