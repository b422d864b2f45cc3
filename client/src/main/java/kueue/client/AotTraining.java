package kueue.client;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The training runs for the JDK's ahead-of-time caches, run by install.sh with {@code
 * -XX:AOTCacheOutput}: they go through the paths users take every day (submitting, waiting,
 * listing, help) so that their classes are loaded and linked from the cache on later starts. Its
 * jobs are real jobs on the local server; when none runs, the error paths are trained instead.
 *
 * <p>Arguments: optionally {@code in-process}, then the -c/--config options to pass on, if any. The
 * relay's cache is trained by kueue.client.daemon.RelayTraining: a cache holding every class the
 * CLI can load made the relay, which needs few, start slower than no cache at all
 * (bench/README.md).
 */
public final class AotTraining {
  private AotTraining() {}

  public static void main(String[] args) {
    int skip = args.length > 0 && args[0].equals("in-process") ? 1 : 0;
    List<String> config = List.of(args).subList(skip, args.length);
    List<List<String>> commands =
        List.of(
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
            List.of("log", "1"),
            List.of("complete", "bash"));
    Path cwd = Path.of("").toAbsolutePath();
    for (List<String> command : commands) {
      StringWriter sink = new StringWriter();
      KueueCli.run(
          withConfig(config, command).toArray(String[]::new),
          new PrintWriter(sink),
          new PrintWriter(sink),
          System.getenv(),
          cwd);
    }
  }

  private static List<String> withConfig(List<String> config, List<String> command) {
    return Stream.concat(config.stream(), command.stream()).toList();
  }
}
