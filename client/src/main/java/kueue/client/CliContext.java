package kueue.client;

import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import kueue.config.ConfigException;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;

/**
 * What every command of one run shares: the process's environment and directory, the terminal, and
 * the configuration, which is read only when a command needs it (so --help and complete work
 * without one).
 */
final class CliContext implements ServerAccess {
  private Map<String, String> environment;
  private Path workingDirectory;
  private PrintWriter err;
  private boolean stdoutIsTerminal;
  private Path terminalDevice;
  private Clock clock;
  private Path configFile;
  private KueueConfig config;
  private TerminalInfo terminal;
  private InputStream stdin = System.in;
  private Integer umask;

  /** A context for a test of the command model, with the controlling terminal. */
  static CliContext of(
      Map<String, String> environment,
      Path workingDirectory,
      PrintWriter err,
      boolean stdoutIsTerminal,
      Clock clock) {
    CliContext context = new CliContext();
    context.bind(
        environment,
        workingDirectory,
        err,
        stdoutIsTerminal,
        TerminalInfo.CONTROLLING_TERMINAL,
        clock);
    return context;
  }

  /**
   * An empty context, which {@link #bind} fills in: for a command tree built before its run is
   * known ({@link KueueCli#prepare}), too. The commands read their context only when they run.
   */
  CliContext() {}

  void bind(
      Map<String, String> environment,
      Path workingDirectory,
      PrintWriter err,
      boolean stdoutIsTerminal,
      Path terminalDevice,
      Clock clock) {
    this.environment = Map.copyOf(environment);
    this.workingDirectory = workingDirectory;
    this.err = err;
    this.stdoutIsTerminal = stdoutIsTerminal;
    this.terminalDevice = terminalDevice;
    this.clock = clock;
  }

  @Override
  public PrintWriter err() {
    return err;
  }

  void useUmask(Integer umask) {
    this.umask = umask;
  }

  /** The umask of the process the user started, for its jobs; null when unknown. */
  Integer umask() {
    return umask;
  }

  Map<String, String> environment() {
    return environment;
  }

  Path workingDirectory() {
    return workingDirectory;
  }

  Clock clock() {
    return clock;
  }

  /** What {@code cmd --file -} reads. */
  InputStream stdin() {
    return stdin;
  }

  void useStdin(InputStream input) {
    stdin = input;
  }

  void useConfigFile(Path file) {
    if (file != null) {
      configFile = workingDirectory.resolve(file);
    }
  }

  @Override
  public KueueConfig config() throws ConfigException {
    if (config == null) {
      StartupTrace.mark("arguments parsed");
      config =
          ConfigLoader.load(
              configFile, warning -> err.println("kueue: warning: " + warning), environment);
      StartupTrace.mark("config read");
    }
    return config;
  }

  @Override
  public KueueClient connect() throws ConfigException, CliException {
    KueueConfig loaded = config();
    KueueClient client = KueueClient.connect(loaded.common(), loaded.file());
    StartupTrace.mark("connected");
    if (!loaded.common().encrypted()) {
      err.println(
          "kueue: warning: the connection to "
              + loaded.common().serverName()
              + ":"
              + loaded.common().serverPort()
              + " is not encrypted (encryption = \"none\" in "
              + loaded.file()
              + ")");
      err.flush();
    }
    return client;
  }

  /**
   * Where a relayed command's interrupt hint goes (to the relay, which Ctrl-C reaches); null when
   * the command runs in its own process or for a test.
   */
  private InterruptHints relayedHints;

  void useInterruptHints(InterruptHints hints) {
    relayedHints = hints;
  }

  /**
   * What Ctrl-C prints from now on, before the process exits with {@link
   * ExitCodes#WAIT_INTERRUPTED}: how to come back to the jobs a command waits for or follows, which
   * go on. Null goes back to Ctrl-C's usual end, which a command does before it returns.
   */
  void interruptHint(String hint) {
    if (relayedHints != null) {
      relayedHints.set(hint, ExitCodes.WAIT_INTERRUPTED);
    } else if (KueueCli.runsInOwnProcess()) {
      InterruptHints.OWN_PROCESS.set(hint, ExitCodes.WAIT_INTERRUPTED);
    }
  }

  boolean stdoutIsTerminal() {
    return stdoutIsTerminal;
  }

  TerminalInfo terminal() {
    if (terminal == null) {
      terminal = TerminalInfo.detect(environment, stdoutIsTerminal, terminalDevice);
    }
    return terminal;
  }

  /** Stack traces are for debugging the tool, not for telling users what went wrong. */
  boolean showStackTraces() {
    return config != null
        && (config.common().logLevel().equals("debug")
            || config.common().logLevel().equals("trace"));
  }
}
