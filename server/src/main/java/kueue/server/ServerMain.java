package kueue.server;

import ch.qos.logback.classic.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import kueue.config.ConfigException;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kueue_server}: runs in the foreground, logs to stderr, stops on SIGINT/SIGTERM. */
@Command(
    name = "kueue_server",
    mixinStandardHelpOptions = true,
    versionProvider = ServerMain.Version.class,
    description = "Holds the Kueue job queue and hands jobs to workers.")
public final class ServerMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServerMain.class);

  @Option(
      names = {"-c", "--config"},
      paramLabel = "PATH",
      description = "config file (default ~/.config/kueue/config.toml)")
  Path config;

  public static void main(String[] args) {
    System.exit(new CommandLine(new ServerMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    KueueConfig loaded;
    try {
      loaded = ConfigLoader.load(config);
    } catch (ConfigException e) {
      System.err.println("kueue_server: " + e.getMessage());
      return 2;
    }
    setLogLevel(loaded.common().logLevel());
    CountDownLatch stopped = new CountDownLatch(1);
    int[] exitCode = {0};
    KueueServer server;
    try {
      server =
          KueueServer.start(
              loaded,
              Clock.systemUTC(),
              () -> {
                exitCode[0] = 1;
                stopped.countDown();
              });
    } catch (Exception e) {
      log.error("cannot start: {}", e.getMessage());
      return 1;
    }
    CountDownLatch closed = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              log.info("stopping");
              stopped.countDown();
              // The JVM halts when hooks return: wait until the database is closed cleanly.
              try {
                closed.await(10, java.util.concurrent.TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    Runtime.getRuntime().addShutdownHook(hook);
    stopped.await();
    server.close();
    closed.countDown();
    log.info("stopped");
    return exitCode[0];
  }

  static void setLogLevel(String level) {
    ch.qos.logback.classic.Logger root =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(level, Level.INFO));
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue_server " + KueueVersion.VERSION};
    }
  }
}
