package kueue.client;

import java.util.List;
import kueue.model.ResourceUsage;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kueue list-resources}: the global resources and how many units running jobs hold. */
@Command(
    name = "list-resources",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = "Show the global resources of [global_resources]: used / total.")
final class ListResourcesCommand extends ServerCommand {
  @Option(names = "--json", description = "Print JSON (see docs/JSON.md).")
  boolean json;

  ListResourcesCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.ResourceList list =
        client.request(new Message.ListResources(), Message.ResourceList.class);
    if (json) {
      JsonOutput.print(out(), list);
      return ExitCodes.OK;
    }
    if (list.resources().isEmpty()) {
      out().println("no global resources (the server's config has no [global_resources])");
      return ExitCodes.OK;
    }
    TextTable table =
        new TextTable(
            List.of(TextTable.Column.clipBack("name", 8), TextTable.Column.right("used/total")));
    for (ResourceUsage resource : list.resources()) {
      Style style = resource.used() >= resource.total() ? Style.RED : Style.PLAIN;
      table.row(
          List.of(
              TextTable.Cell.of(resource.name()),
              new TextTable.Cell(resource.used() + "/" + resource.total(), style)));
    }
    table.render(terminal().width(), terminal().colors()).forEach(out()::println);
    return ExitCodes.OK;
  }
}
