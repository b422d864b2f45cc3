package kueue.client;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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
      "Exits with the exit code of the first listed job that did not succeed (0 if all did):"
          + " 127 if it could not start, 128+N if killed by signal N, 130 if canceled. For a"
          + " batch, the first is the one with the smallest id."
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
    try (ServerRestarts server =
        new ServerRestarts(context, client, context.config().client().serverRestartWait(), err())) {
      if (batch != null) {
        Message.BatchEnded ended =
            server.request(new Message.WaitBatch(batch), Message.BatchEnded.class, JOBS_GO_ON);
        if (json) {
          JsonOutput.print(out(), ended);
        }
        err().println(BatchFormat.ending(ended.batch()));
        return BatchFormat.exitCode(ended.batch());
      }
      Message.JobsEnded ended =
          server.request(new Message.WaitJobs(ids), Message.JobsEnded.class, JOBS_GO_ON);
      if (json) {
        JsonOutput.print(out(), ended);
      }
      return report(ids, ended.jobs(), err());
    }
  }

  /** What the line printed when the server goes away while waiting says. */
  static final String JOBS_GO_ON = "the jobs go on meanwhile";

  /** Used by {@code cmd --wait} too, so that both end the same way. */
  static int waitFor(ServerRestarts server, List<Long> ids, PrintWriter err) throws CliException {
    Message.JobsEnded ended =
        server.request(new Message.WaitJobs(ids), Message.JobsEnded.class, JOBS_GO_ON);
    return report(ids, ended.jobs(), err);
  }

  /** Used by {@code cmd --wait} for a batch. */
  static int waitForBatch(ServerRestarts server, long batch, PrintWriter err) throws CliException {
    Message.BatchEnded ended =
        server.request(new Message.WaitBatch(batch), Message.BatchEnded.class, JOBS_GO_ON);
    err.println(BatchFormat.ending(ended.batch()));
    return BatchFormat.exitCode(ended.batch());
  }

  private static int report(List<Long> ids, List<JobSummary> jobs, PrintWriter err) {
    Map<Long, JobSummary> byId = new LinkedHashMap<>();
    for (JobSummary job : jobs) {
      byId.put(job.id(), job);
    }
    int exitCode = ExitCodes.OK;
    for (long id : new LinkedHashSet<>(ids)) {
      JobSummary job = byId.get(id);
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
    return exitCode;
  }
}
