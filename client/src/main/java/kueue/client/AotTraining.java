package kueue.client;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;

/**
 * The training run for the JDK's ahead-of-time cache, run once by install.sh with
 * {@code -XX:AOTCacheOutput}: it goes through the paths users take every day (submitting, waiting,
 * listing, help) so that their classes are loaded and linked from the cache on later starts. Its
 * jobs are real jobs on the local server; when none runs, the error paths are trained instead.
 *
 * <p>Arguments: the -c/--config options to pass on, if any.
 */
public final class AotTraining {
  private AotTraining() {}

  public static void main(String[] args) {
    List<String> config = List.of(args);
    List<List<String>> commands = List.of(
        List.of("--help"),
        List.of("cmd", "--help"),
        List.of("cmd", "true"),
        List.of("cmd", "--wait", "true"),
        List.of("list-jobs"),
        List.of("list-jobs", "-n", "5", "--json"),
        List.of("show-job", "1"),
        List.of("list-workers"),
        List.of("list-resources"),
        List.of("wait-job", "1"),
        List.of("complete", "bash"));
    Path cwd = Path.of("").toAbsolutePath();
    for (List<String> command : commands) {
      String[] arguments = java.util.stream.Stream.concat(config.stream(), command.stream()).toArray(String[]::new);
      StringWriter sink = new StringWriter();
      KueueCli.run(arguments, new PrintWriter(sink), new PrintWriter(sink), System.getenv(), cwd);
    }
  }
}
