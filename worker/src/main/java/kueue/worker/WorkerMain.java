package kueue.worker;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import kueue.config.ConfigException;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The program {@code kueue_worker}: runs jobs from the server on this machine, in the foreground.
 */
@Command(
    name = "kueue_worker",
    mixinStandardHelpOptions = true,
    versionProvider = WorkerMain.Version.class,
    description = {
      "Connects to the Kueue server and runs the jobs it offers on this machine.",
      "Runs in the foreground and logs to stderr; SIGINT or SIGTERM kills its running jobs"
          + " (the server requeues them) and exits."
    })
public final class WorkerMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(WorkerMain.class);

  @Option(
      names = {"-c", "--config"},
      paramLabel = "PATH",
      description = "configuration file (default: ~/.config/kueue/config.toml)")
  Path config;

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    System.exit(
        execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  static int execute(PrintWriter out, PrintWriter err, String... args) {
    return new CommandLine(new WorkerMain())
        .setOut(out)
        .setErr(err)
        .setExecutionExceptionHandler(
            (exception, commandLine, parseResult) -> {
              commandLine.getErr().println("kueue_worker: " + exception.getMessage());
              if (Logging.isDebug()) {
                exception.printStackTrace(commandLine.getErr());
              }
              return 1;
            })
        .execute(args);
  }

  @Override
  public Integer call() {
    KueueConfig settings;
    try {
      settings = ConfigLoader.load(config);
    } catch (ConfigException e) {
      spec.commandLine().getErr().println("kueue_worker: " + e.getMessage());
      return 2;
    }
    Logging.setLevel(settings.common().logLevel());
    WorkerAgent agent =
        new WorkerAgent(
            settings.common(),
            settings.worker(),
            settings.server().workerTimeout(),
            "kueue_worker " + KueueVersion.VERSION);
    StopSignals.onStop(agent::stop);
    log.info(
        "kueue_worker {} running as \"{}\" for server {}:{}",
        KueueVersion.VERSION,
        agent.name(),
        settings.common().serverName(),
        settings.common().serverPort());
    agent.run();
    log.info("stopped");
    return 0;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue_worker " + KueueVersion.VERSION};
    }
  }
}
