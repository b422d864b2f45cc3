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
import picocli.CommandLine.Parameters;

/** {@code kueue wait-job}: blocks until the jobs end and exits like the first one that failed. */
@Command(
    name = "wait-job",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Wait until the jobs have finished or were canceled.",
      "Exits with the exit code of the first listed job that did not succeed (0 if all did):"
          + " 127 if it could not start, 128+N if killed by signal N, 130 if canceled."
    })
final class WaitJobCommand extends ServerCommand {
  @Parameters(arity = "1..*", paramLabel = "ID", description = "Job ids.")
  List<Long> ids;

  @Option(names = "--json", description = "Print the ended jobs as JSON (see docs/JSON.md).")
  boolean json;

  WaitJobCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    Message.JobsEnded ended = client.request(new Message.WaitJobs(ids), Message.JobsEnded.class);
    if (json) {
      JsonOutput.print(out(), ended);
    }
    return report(ids, ended.jobs(), err());
  }

  /** Used by {@code cmd --wait} too, so that both end the same way. */
  static int waitFor(KueueClient client, List<Long> ids, PrintWriter err) throws CliException {
    Message.JobsEnded ended = client.request(new Message.WaitJobs(ids), Message.JobsEnded.class);
    return report(ids, ended.jobs(), err);
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
