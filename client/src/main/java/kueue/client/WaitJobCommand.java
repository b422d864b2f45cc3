package kueue.client;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;

/**
 * {@code kueue wait-job}: blocks until the jobs (or a batch) end and exits like the first one that
 * failed.
 */
@Command(
    name = "wait-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Wait until the jobs, or all jobs of a batch, have finished or were canceled.",
      "Exits with 0 only if every job succeeded, else with the exit code of the first listed job"
          + " that did not: 124 if it timed out, 127 if it could not start, 128+N if killed by"
          + " signal N, 130 if canceled. For a batch, the first is the one with the smallest id."
          + " With several jobs a summary counts how many succeeded, failed, timed out and were"
          + " canceled. While a job waits, why is printed on stderr when that changes. Ctrl-C"
          + " stops waiting, not the jobs, and exits with 75."
    })
final class WaitJobCommand extends ServerCommand {
  @Parameters(arity = "0..*", paramLabel = "ID", description = "Job ids.")
  List<Long> ids = List.of();

  @Option(
      names = "--batch",
      paramLabel = "BATCH",
      description = "Wait for every job of this batch (the id printed by cmd --array/--file).")
  Long batch;

  @Option(
      names = "--json",
      description = "Print the ended jobs (or the batch) as JSON (see docs/JSON.md).")
  boolean json;

  WaitJobCommand(CliContext context) {
    super(context);
  }

  @Override
  void prepare() {
    if (batch == null && ids.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "give job ids or --batch BATCH");
    }
    if (batch != null && !ids.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "give job ids or --batch BATCH, not both");
    }
  }

  @Override
  KueueClient connectForRun() throws Exception {
    return connectUnlessRestarting();
  }

  @Override
  int run(KueueClient client) throws Exception {
    context.interruptHint(batch != null ? batchHint("waiting", batch) : jobsHint("waiting", ids));
    try (ServerRestarts server = ridingOutRestarts(client)) {
      if (batch != null) {
        Message.BatchEnded ended =
            server.request(
                new Message.WaitBatch(batch, true),
                Message.BatchEnded.class,
                JOBS_GO_ON,
                new ReasonPrinter(err()));
        if (json) {
          JsonOutput.print(out(), ended);
        }
        err().println(BatchFormat.ending(ended.batch()));
        return BatchFormat.exitCode(ended.batch());
      }
      Message.JobsEnded ended =
          server.request(
              new Message.WaitJobs(ids, true),
              Message.JobsEnded.class,
              JOBS_GO_ON,
              new ReasonPrinter(err()));
      if (json) {
        JsonOutput.print(out(), ended);
      }
      return report(ids, ended.jobs(), err());
    } finally {
      context.interruptHint(null);
    }
  }

  /**
   * What Ctrl-C says while jobs are waited for or followed: they go on, and how to come back to
   * them or stop them.
   *
   * @param doing "waiting" or "following"
   */
  static String jobsHint(String doing, List<Long> ids) {
    List<Long> distinct = List.copyOf(new LinkedHashSet<>(ids));
    if (distinct.size() == 1) {
      long id = distinct.getFirst();
      return "kueue: stopped "
          + doing
          + "; job "
          + id
          + " goes on. Follow it: kueue log -f "
          + id
          + "; wait for it: kueue wait-job "
          + id
          + "; stop it: kueue remove-job --kill "
          + id;
    }
    String list = String.join(" ", distinct.stream().map(String::valueOf).toList());
    return "kueue: stopped "
        + doing
        + "; jobs "
        + list
        + " go on. Wait for them: kueue wait-job "
        + list
        + "; follow one: kueue log -f ID; stop one: kueue remove-job --kill ID";
  }

  /** Like {@link #jobsHint}, for a batch. */
  static String batchHint(String doing, long batch) {
    return "kueue: stopped "
        + doing
        + "; batch "
        + batch
        + " goes on. Follow it: kueue log -f --batch "
        + batch
        + "; wait for it: kueue wait-job --batch "
        + batch
        + "; stop it: kueue remove-job --kill --batch "
        + batch;
  }

  /** What the line printed when the server goes away while waiting says. */
  static final String JOBS_GO_ON = "the jobs go on meanwhile";

  /** Used by {@code cmd --wait} too, so that both end the same way. */
  static int waitFor(ServerRestarts server, List<Long> ids, PrintWriter err) throws CliException {
    Message.JobsEnded ended =
        server.request(
            new Message.WaitJobs(ids, true),
            Message.JobsEnded.class,
            JOBS_GO_ON,
            new ReasonPrinter(err));
    return report(ids, ended.jobs(), err);
  }

  /** Used by {@code cmd --wait} for a batch. */
  static int waitForBatch(ServerRestarts server, long batch, PrintWriter err) throws CliException {
    Message.BatchEnded ended =
        server.request(
            new Message.WaitBatch(batch, true),
            Message.BatchEnded.class,
            JOBS_GO_ON,
            new ReasonPrinter(err));
    err.println(BatchFormat.ending(ended.batch()));
    return BatchFormat.exitCode(ended.batch());
  }

  /**
   * Says on stderr why a job waited for still waits, each time that changes: the server sends a
   * reason only after the first second and when it changes, and again after a reconnection, which
   * this prints only if it differs from the last one.
   */
  static final class ReasonPrinter implements Consumer<Message.PendingReason> {
    private final PrintWriter err;
    private Message.PendingReason last;

    ReasonPrinter(PrintWriter err) {
      this.err = err;
    }

    @Override
    public void accept(Message.PendingReason reason) {
      if (reason.equals(last)) {
        return;
      }
      last = reason;
      if (reason.reason() != null) {
        err.println("kueue: job " + reason.jobId() + " waits: " + reason.reason());
        err.flush();
      }
    }
  }

  private static int report(List<Long> ids, List<JobSummary> jobs, PrintWriter err) {
    Map<Long, JobSummary> byId = new LinkedHashMap<>();
    for (JobSummary job : jobs) {
      byId.put(job.id(), job);
    }
    int exitCode = ExitCodes.OK;
    Set<Long> distinct = new LinkedHashSet<>(ids);
    List<JobSummary> waitedFor = new ArrayList<>();
    for (long id : distinct) {
      JobSummary job = byId.get(id);
      if (job != null) {
        waitedFor.add(job);
      }
      if (job == null) {
        err.println("job " + id + ": the server did not report how it ended");
        exitCode = exitCode == ExitCodes.OK ? ExitCodes.UNEXPECTED : exitCode;
        continue;
      }
      err.println(JobFormat.ending(job));
      int code = JobFormat.exitCode(job);
      if (exitCode == ExitCodes.OK && code != ExitCodes.OK) {
        exitCode = code;
      }
    }
    if (distinct.size() > 1) {
      err.println(summary(distinct.size(), waitedFor));
    }
    return exitCode;
  }

  /** "5 jobs: 2 succeeded, 1 failed, 1 timed out, 1 canceled", leaving out what is zero. */
  static String summary(int jobs, Collection<JobSummary> ended) {
    long succeeded = 0;
    long failed = 0;
    long timedOut = 0;
    long canceled = 0;
    for (JobSummary job : ended) {
      switch (job.state()) {
        case FINISHED -> {
          if (job.succeeded()) {
            succeeded++;
          } else {
            failed++;
          }
        }
        case TIMED_OUT -> timedOut++;
        case CANCELED -> canceled++;
        default -> {}
      }
    }
    List<String> parts = new ArrayList<>();
    parts.add(succeeded + " succeeded");
    if (failed > 0) {
      parts.add(failed + " failed");
    }
    if (timedOut > 0) {
      parts.add(timedOut + " timed out");
    }
    if (canceled > 0) {
      parts.add(canceled + " canceled");
    }
    long unknown = jobs - succeeded - failed - timedOut - canceled;
    if (unknown > 0) {
      parts.add(unknown + " unknown");
    }
    return jobs + " jobs: " + String.join(", ", parts);
  }
}
