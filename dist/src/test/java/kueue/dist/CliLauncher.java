package kueue.dist;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * How the tests start the {@code kueue} CLI: like {@code install.sh}'s launcher, with an AOT cache
 * trained once per test run against a real server and worker. Each CLI process then loads its
 * classes from the cache, which makes the hundreds of CLI runs of the suite about twice as fast,
 * and the cache path gets exercised as users run it.
 *
 * <p>The cache needs a class path of jar files only (the JVM does not cache classes from
 * directories). {@code -Dkueue.test.noCliCache=true} turns the cache off. When the tests run on
 * classes not yet packaged, or training fails, the CLI runs without a cache; only its speed
 * differs.
 */
final class CliLauncher {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final List<String> OPTIONS =
      List.of(
          "--enable-native-access=ALL-UNNAMED",
          "-Xmx128m",
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          "-Xlog:disable",
          "-Xlog:all=error:stderr");
  private static final long TRAINING_LIMIT_SECONDS = 120;

  private static List<String> prefix;

  private CliLauncher() {}

  /** The command line up to and including the main class. */
  static synchronized List<String> command() {
    if (prefix == null) {
      prefix = withCacheIfPossible();
    }
    return prefix;
  }

  private static List<String> plain(String classPath) {
    List<String> command = new ArrayList<>(List.of(JAVA));
    command.addAll(OPTIONS);
    command.addAll(List.of("-cp", classPath, "kueue.client.KueueCli"));
    return List.copyOf(command);
  }

  private static List<String> withCacheIfPossible() {
    String fullClassPath = System.getProperty("java.class.path");
    List<String> jars =
        Arrays.stream(fullClassPath.split(File.pathSeparator))
            .filter(entry -> entry.endsWith(".jar"))
            .toList();
    if (Boolean.getBoolean("kueue.test.noCliCache")) {
      return plain(fullClassPath);
    }
    boolean clientPackaged =
        jars.stream()
            .anyMatch(jar -> Path.of(jar).getFileName().toString().startsWith("kueue-client"));
    if (!clientPackaged) {
      return plain(fullClassPath);
    }
    String classPath = String.join(File.pathSeparator, jars);
    Path home = null;
    try {
      home = Files.createTempDirectory("kueue-cli-training");
      Path cache = Path.of("target", "kueue-cli-test.aot").toAbsolutePath();
      Files.deleteIfExists(cache);
      if (train(home, classPath, cache) && Files.size(cache) > 0) {
        List<String> command = new ArrayList<>(List.of(JAVA));
        command.addAll(OPTIONS);
        command.addAll(List.of("-XX:AOTCache=" + cache, "-cp", classPath, "kueue.client.KueueCli"));
        return List.copyOf(command);
      }
    } catch (IOException | InterruptedException e) {
      System.err.println("CLI AOT training failed, the CLI runs without a cache: " + e);
    } finally {
      deleteQuietly(home);
    }
    return plain(fullClassPath);
  }

  /** Runs the CLI's own training (kueue.client.AotTraining) against a fleet of its own. */
  private static boolean train(Path home, String classPath, Path cache)
      throws IOException, InterruptedException {
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      fleet.start(
          "worker-training",
          "kueue.worker.WorkerMain",
          "-c",
          fleet
              .config(
                  "worker-training", Fleet.SECRET, Map.of("worker", "worker_name = \"training\""))
              .toString());
      List<String> command = new ArrayList<>(List.of(JAVA));
      command.addAll(OPTIONS);
      command.addAll(
          List.of(
              "-XX:AOTCacheOutput=" + cache,
              "-cp",
              classPath,
              "kueue.client.AotTraining",
              "-c",
              fleet.clientConfig().toString()));
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(home.toFile())
              .redirectErrorStream(true)
              .redirectOutput(home.resolve("training.log").toFile());
      builder.environment().put("HOME", home.toString());
      Process training = builder.start();
      if (!training.waitFor(TRAINING_LIMIT_SECONDS, TimeUnit.SECONDS)) {
        training.destroyForcibly();
        training.waitFor(10, TimeUnit.SECONDS);
        System.err.println("CLI AOT training did not finish; the CLI runs without a cache");
        return false;
      }
      if (training.exitValue() != 0) {
        System.err.println(
            "CLI AOT training exited with "
                + training.exitValue()
                + ":\n"
                + Files.readString(home.resolve("training.log")));
        return false;
      }
      return true;
    }
  }

  private static void deleteQuietly(Path directory) {
    if (directory == null) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException ignored) {
      // A leftover temporary directory costs nothing but space.
    }
  }
}
