package kueue.client;

import java.util.List;
import kueue.model.WorkerSummary;
import kueue.protocol.Message;

/** Lets every command that takes a worker id take the worker's name too. */
final class WorkerNames {
  private WorkerNames() {}

  /**
   * The id of the worker that {@code idOrName} names: digits are an id; anything else is the name
   * of a connected worker, which must be unique.
   */
  static long resolve(String idOrName, KueueClient client) throws CliException {
    if (!idOrName.isEmpty() && idOrName.chars().allMatch(Character::isDigit)) {
      try {
        return Long.parseLong(idOrName);
      } catch (NumberFormatException tooLong) {
        throw new CliException(ExitCodes.USAGE_OR_CONFIG, "no such worker id: " + idOrName);
      }
    }
    List<WorkerSummary> workers =
        client.request(new Message.ListWorkers(), Message.WorkerList.class).workers();
    List<WorkerSummary> named =
        workers.stream().filter(worker -> idOrName.equals(worker.name())).toList();
    if (named.isEmpty()) {
      throw new CliException(
          ExitCodes.REQUEST_FAILED,
          "no connected worker is named " + idOrName + " (list-workers shows the connected ones)");
    }
    if (named.size() > 1) {
      throw new CliException(
          ExitCodes.REQUEST_FAILED,
          named.size()
              + " connected workers are named "
              + idOrName
              + " (ids "
              + String.join(", ", named.stream().map(w -> Long.toString(w.id())).toList())
              + "): give one of the ids");
    }
    return named.getFirst().id();
  }
}
