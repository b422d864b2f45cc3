package kueue.client;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** A command that talks to the server: reads the config, connects, runs, disconnects. */
abstract class ServerCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--config",
      paramLabel = "PATH",
      description = "Config file (same as kueue -c PATH).")
  Path config;

  final CliContext context;

  ServerCommand(CliContext context) {
    this.context = context;
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  TerminalInfo terminal() {
    return context.terminal();
  }

  @Override
  public final Integer call() throws Exception {
    context.useConfigFile(config);
    prepare();
    try (KueueClient client = connectForRun()) {
      return run(client);
    }
  }

  /** The connection run gets; a command that rides out server restarts may get null. */
  KueueClient connectForRun() throws Exception {
    return context.connect();
  }

  /**
   * For commands that ride out server restarts ({@link ServerRestarts}): a server that cannot be
   * reached now may be restarting, so run gets null and connects when it is back.
   */
  final KueueClient connectUnlessRestarting() throws Exception {
    try {
      return context.connect();
    } catch (CliException e) {
      if (e.exitCode() == ExitCodes.SERVER_UNREACHABLE
          && !context.config().client().serverRestartWait().isZero()) {
        return null;
      }
      throw e;
    }
  }

  /**
   * Requests that ride out server restarts, starting on this connection (or none), for as long as
   * [client] server_restart_wait_seconds says.
   */
  final ServerRestarts ridingOutRestarts(KueueClient client) throws CliException {
    try {
      return new ServerRestarts(
          context, client, context.config().client().serverRestartWait(), err());
    } catch (kueue.config.ConfigException e) {
      throw new CliException(ExitCodes.USAGE_OR_CONFIG, e.getMessage(), e);
    }
  }

  /** Checks the arguments before connecting, so that usage errors never wait for the network. */
  void prepare() throws Exception {}

  abstract int run(KueueClient client) throws Exception;
}
