package kueue.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import kueue.model.JobFilter;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code kueue list-jobs}: the newest jobs as a table, with counts, average run time and ETA. */
@Command(
    name = "list-jobs",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Show the newest jobs, oldest first, with counts per state, the average run time and an"
          + " estimate of when the remaining jobs are done.",
      "Filters add up: -r -f shows running and failed jobs.",
      "Jobs of a batch show it as BATCH[INDEX] in the batch column. --batch BATCH lists only that"
          + " batch's jobs (with the batch's counts); --batches shows one line per batch instead,"
          + " and with filters only the batches that have such jobs (e.g. --batches -f)."
    })
final class ListJobsCommand extends ServerCommand {
  /** Room for the header, the footer and the shell prompt. */
  private static final int LINES_AROUND_TABLE = 4;

  private static final int MIN_DEFAULT_LIMIT = 10;

  @Option(
      names = {"-n", "--number"},
      paramLabel = "N",
      description = "Show at most N jobs, 0 for all (default: what fits the terminal height).")
  Integer limit;

  @Option(
      names = {"-p", "--pending"},
      description = "Pending jobs.")
  boolean pending;

  @Option(names = "--held", description = "Held jobs (cmd --hold, kueue hold).")
  boolean held;

  @Option(
      names = "--waiting",
      description = "Jobs waiting for the jobs they depend on (cmd --after, --dependency).")
  boolean waiting;

  @Option(
      names = {"-o", "--offered"},
      description = "Jobs offered to a worker.")
  boolean offered;

  @Option(
      names = {"-r", "--running"},
      description = "Running jobs.")
  boolean running;

  @Option(
      names = {"-s", "--succeeded"},
      description = "Jobs that finished with exit code 0.")
  boolean succeeded;

  @Option(
      names = {"-f", "--failed"},
      description = "Jobs that failed.")
  boolean failed;

  @Option(
      names = {"-c", "--canceled"},
      description = "Canceled jobs.")
  boolean canceled;

  @Option(
      names = {"-t", "--timed-out"},
      description = "Jobs stopped at their time limit.")
  boolean timedOut;

  @Option(names = "--json", description = "Print JSON (see docs/JSON.md).")
  boolean json;

  @Option(
      names = "--batches",
      description = "One line per batch: its jobs, counts per state, average run time and ETA.")
  boolean batches;

  @Option(names = "--batch", paramLabel = "BATCH", description = "Only the jobs of this batch.")
  Long batch;

  ListJobsCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if (limit != null && limit < 0) {
      throw new ParameterException(spec.commandLine(), "-n must be 0 (all) or more, got " + limit);
    }
    if (batches && batch != null) {
      throw new ParameterException(
          spec.commandLine(), "give either --batches or --batch, not both");
    }
  }

  List<JobFilter> filters() {
    EnumSet<JobFilter> filters = EnumSet.noneOf(JobFilter.class);
    if (pending) {
      filters.add(JobFilter.PENDING);
    }
    if (held) {
      filters.add(JobFilter.HELD);
    }
    if (waiting) {
      filters.add(JobFilter.WAITING);
    }
    if (offered) {
      filters.add(JobFilter.OFFERED);
    }
    if (running) {
      filters.add(JobFilter.RUNNING);
    }
    if (succeeded) {
      filters.add(JobFilter.SUCCEEDED);
    }
    if (failed) {
      filters.add(JobFilter.FAILED);
    }
    if (canceled) {
      filters.add(JobFilter.CANCELED);
    }
    if (timedOut) {
      filters.add(JobFilter.TIMED_OUT);
    }
    return new ArrayList<>(filters);
  }

  int effectiveLimit() {
    if (limit != null) {
      return limit;
    }
    if (terminal().height() == TerminalInfo.UNLIMITED) {
      return 0;
    }
    return Math.max(MIN_DEFAULT_LIMIT, terminal().height() - LINES_AROUND_TABLE);
  }

  @Override
  int run(KueueClient client) throws CliException {
    List<JobFilter> filters = filters();
    if (batches) {
      return listBatches(client, filters);
    }
    int wanted = effectiveLimit();
    Message.JobList list =
        client.request(new Message.ListJobs(wanted, filters, batch), Message.JobList.class);
    if (list.nextAfterId() != null) {
      return printPages(client, list, wanted, filters);
    }
    if (json) {
      JsonOutput.print(out(), list);
      return ExitCodes.OK;
    }
    TerminalInfo terminal = terminal();
    if (list.jobs().isEmpty()) {
      out().println(filters.isEmpty() ? "no jobs" : "no matching jobs");
    } else {
      Instant now = context.clock().instant();
      JobTable.render(list.jobs(), now, terminal.width(), terminal.colors())
          .forEach(out()::println);
    }
    long matching = JobTable.matching(list.stats(), filters);
    if (list.jobs().size() < matching && !list.jobs().isEmpty()) {
      out()
          .println(
              "(the newest " + list.jobs().size() + " of " + matching + " shown; -n 0 shows all)");
    }
    out().println(JobTable.footer(list.stats(), terminal.colors(), terminal.width()));
    return ExitCodes.OK;
  }

  /**
   * A listing longer than one page, printed as its pages arrive: neither side ever holds more than
   * a page. The table's column widths are each page's own.
   */
  private int printPages(
      KueueClient client, Message.JobList first, int wanted, List<JobFilter> filters)
      throws CliException {
    TerminalInfo terminal = terminal();
    Instant now = context.clock().instant();
    JsonOutput.JobListWriter jsonWriter = json ? JsonOutput.jobListWriter(out()) : null;
    Message.JobList page = first;
    long received = 0;
    while (true) {
      if (jsonWriter != null) {
        jsonWriter.jobs(page.jobs());
      } else if (!page.jobs().isEmpty()) {
        List<String> lines = JobTable.render(page.jobs(), now, terminal.width(), terminal.colors());
        (received == 0 ? lines : lines.subList(1, lines.size())).forEach(out()::println);
      }
      received += page.jobs().size();
      if (page.nextAfterId() == null) {
        break;
      }
      int remaining = wanted == 0 ? 0 : (int) Math.max(1, wanted - received);
      page =
          client.request(
              new Message.ListJobs(remaining, filters, batch, page.nextAfterId()),
              Message.JobList.class);
    }
    if (jsonWriter != null) {
      jsonWriter.finish(first.stats());
      return ExitCodes.OK;
    }
    if (received == 0) {
      out().println(filters.isEmpty() ? "no jobs" : "no matching jobs");
    }
    out().println(JobTable.footer(first.stats(), terminal.colors(), terminal.width()));
    return ExitCodes.OK;
  }

  private int listBatches(KueueClient client, List<JobFilter> filters) throws CliException {
    int shown = effectiveLimit();
    Message.BatchList list =
        client.request(new Message.ListBatches(shown, filters), Message.BatchList.class);
    if (json) {
      JsonOutput.print(out(), list);
      return ExitCodes.OK;
    }
    TerminalInfo terminal = terminal();
    if (list.batches().isEmpty()) {
      out().println(filters.isEmpty() ? "no batches" : "no matching batches");
    } else {
      BatchTable.render(list.batches(), terminal.width(), terminal.colors())
          .forEach(out()::println);
      if (shown > 0 && list.batches().size() == shown) {
        out().println("(the newest " + shown + " batches shown; -n 0 shows all)");
      }
    }
    out().println(JobTable.footer(list.stats(), terminal.colors(), terminal.width()));
    return ExitCodes.OK;
  }
}
