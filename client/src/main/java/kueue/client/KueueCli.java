package kueue.client;

import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import kueue.config.ConfigException;
import kueue.config.KueueVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** {@code kueue}, the command-line client. */
public final class KueueCli {
  private KueueCli() {}

  /**
   * Whether commands run in a process of their own (main), where Ctrl-C reaches them, rather than
   * for a relay in the CLI daemon.
   */
  private static volatile boolean ownProcess;

  static boolean runsInOwnProcess() {
    return ownProcess;
  }

  public static void main(String[] args) {
    StartupTrace.mark("main");
    ownProcess = true;
    var console = System.console();
    boolean terminal = console != null && console.isTerminal();
    PrintWriter out =
        new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), false);
    PrintWriter err =
        new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
    int exitCode =
        run(
            null,
            args,
            out,
            err,
            System.getenv(),
            Path.of("").toAbsolutePath(),
            terminal,
            TerminalInfo.CONTROLLING_TERMINAL,
            Clock.systemUTC(),
            System.in,
            null,
            kueue.client.daemon.ProcessUmask.current());
    out.flush();
    err.flush();
    InterruptHints.clearOwnProcess(); // exit() runs the shutdown hooks too
    System.exit(exitCode);
  }

  /**
   * Runs one command in this process, as if stdout were not a terminal.
   *
   * @param env the environment the command sees: config location, terminal size, the job's
   *     environment for {@code cmd}
   * @param cwd the directory {@code cmd} submits from
   * @return the exit code
   */
  public static int run(
      String[] args, PrintWriter out, PrintWriter err, Map<String, String> env, Path cwd) {
    return run(
        null,
        args,
        out,
        err,
        env,
        cwd,
        false,
        TerminalInfo.CONTROLLING_TERMINAL,
        Clock.systemUTC(),
        System.in,
        null,
        kueue.client.daemon.ProcessUmask.current());
  }

  /**
   * Runs one command for a {@code kueue} process other than this one (the CLI daemon): its streams,
   * environment, directory and terminal are passed in.
   *
   * @param terminalDevice the terminal its stdout is on, for its size; ignored unless {@code
   *     stdoutIsTerminal}
   * @param interruptHints where to say what Ctrl-C should print (the relay's), or null
   * @param umask that process's file mode creation mask, which {@code cmd} gives its jobs; null
   *     when unknown (the job then runs with the worker's)
   */
  public static int runFor(
      Prepared prepared,
      String[] args,
      PrintWriter out,
      PrintWriter err,
      Map<String, String> env,
      Path cwd,
      boolean stdoutIsTerminal,
      Path terminalDevice,
      InputStream stdin,
      InterruptHints interruptHints,
      Integer umask) {
    StartupTrace.restart();
    return run(
        prepared,
        args,
        out,
        err,
        env,
        cwd,
        stdoutIsTerminal,
        terminalDevice,
        Clock.systemUTC(),
        stdin,
        interruptHints,
        umask);
  }

  /**
   * Runs one command; {@code prepared} is a tree built for it ahead, or null to build one.
   *
   * @param interruptHints where to say what Ctrl-C should print (a relay's), or null
   * @param umask the umask that {@code cmd} gives its jobs (null: the worker's)
   */
  static int run(
      Prepared prepared,
      String[] args,
      PrintWriter out,
      PrintWriter err,
      Map<String, String> env,
      Path cwd,
      boolean stdoutIsTerminal,
      Path terminalDevice,
      Clock clock,
      InputStream stdin,
      InterruptHints interruptHints,
      Integer umask) {
    CliContext context;
    CommandLine commandLine;
    if (prepared != null && prepared.commandName.equals(commandName(args))) {
      context = prepared.context;
      context.bind(env, cwd, err, stdoutIsTerminal, terminalDevice, clock);
      commandLine = prepared.commandLine;
    } else {
      context = new CliContext();
      context.bind(env, cwd, err, stdoutIsTerminal, terminalDevice, clock);
      commandLine = commandLine(context, args);
    }
    context.useStdin(stdin);
    context.useInterruptHints(interruptHints);
    context.useUmask(umask);
    StartupTrace.mark("command model");
    commandLine.setOut(out);
    commandLine.setErr(err);
    try {
      return commandLine.execute(args);
    } finally {
      out.flush();
      err.flush();
      StartupTrace.mark("finished");
    }
  }

  /** The commands that talk to the server, by name; each run needs only one of them. */
  private static final Map<String, Function<CliContext, Object>> SERVER_COMMANDS =
      new LinkedHashMap<>();

  static {
    SERVER_COMMANDS.put("cmd", CmdCommand::new);
    SERVER_COMMANDS.put("list-jobs", ListJobsCommand::new);
    SERVER_COMMANDS.put("show-job", ShowJobCommand::new);
    SERVER_COMMANDS.put("wait-job", WaitJobCommand::new);
    SERVER_COMMANDS.put("log", LogCommand::new);
    SERVER_COMMANDS.put("remove-job", RemoveJobCommand::new);
    SERVER_COMMANDS.put("hold", HoldCommand::new);
    SERVER_COMMANDS.put("release", ReleaseCommand::new);
    SERVER_COMMANDS.put("update-job", UpdateJobCommand::new);
    SERVER_COMMANDS.put("requeue", RequeueCommand::new);
    SERVER_COMMANDS.put("clean-jobs", CleanJobsCommand::new);
    SERVER_COMMANDS.put("list-workers", ListWorkersCommand::new);
    SERVER_COMMANDS.put("show-worker", ShowWorkerCommand::new);
    SERVER_COMMANDS.put("list-resources", ListResourcesCommand::new);
  }

  /**
   * The command tree for one run of a server command, built before that run is known so that the
   * CLI daemon builds it while idle rather than while a user waits (picocli reads every option's
   * annotations each time). Used once: a run changes its options' values.
   */
  public static final class Prepared {
    private final String commandName;
    private final CliContext context;
    private final CommandLine commandLine;

    private Prepared(String commandName, CliContext context, CommandLine commandLine) {
      this.commandName = commandName;
      this.context = context;
      this.commandLine = commandLine;
    }

    public String commandName() {
      return commandName;
    }
  }

  /** The commands worth preparing: the ones that talk to the server. */
  public static Set<String> serverCommandNames() {
    return SERVER_COMMANDS.keySet();
  }

  public static Prepared prepare(String serverCommandName) {
    if (!SERVER_COMMANDS.containsKey(serverCommandName)) {
      throw new IllegalArgumentException("not a server command: " + serverCommandName);
    }
    CliContext context = new CliContext();
    return new Prepared(
        serverCommandName, context, commandLine(context, new String[] {serverCommandName}));
  }

  /** Every command, as --help, help, complete and the "did you mean" suggestions need. */
  static CommandLine commandLine(CliContext context) {
    return commandLine(context, null);
  }

  /**
   * The command tree for {@code args}. picocli builds each command's model by reflection, and its
   * classes (compiled for Java 5) cannot be kept in the JDK's ahead-of-time cache, so a run that
   * names a server command gets only that one: building all of them took a cold start longer than
   * running the command.
   */
  static CommandLine commandLine(CliContext context, String[] args) {
    CommandLine root = new CommandLine(new KueueCommand(context));
    String only = args == null ? null : commandName(args);
    if (only != null && SERVER_COMMANDS.containsKey(only)) {
      root.addSubcommand(SERVER_COMMANDS.get(only).apply(context));
    } else {
      for (Function<CliContext, Object> command : SERVER_COMMANDS.values()) {
        root.addSubcommand(command.apply(context));
      }
      for (ExternalCommand command :
          ServiceLoader.load(ExternalCommand.class, ExternalCommand.class.getClassLoader())) {
        root.addSubcommand(command.name(), command.command(context));
      }
      root.addSubcommand(new CompleteCommand());
      root.addSubcommand(new GenerateSecretCommand());
      root.addSubcommand(new CommandLine.HelpCommand());
    }
    CommandLine cmd = root.getSubcommands().get("cmd");
    if (cmd != null) {
      // Everything after the program belongs to the job, even "-c" or "--help".
      cmd.setStopAtPositional(true);
    }
    ErrorHandler handler = new ErrorHandler(context);
    root.setParameterExceptionHandler(handler);
    root.setExecutionExceptionHandler(handler);
    return root;
  }

  /** The first argument that is not kueue's own -c/--config option, or null. */
  public static String commandName(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-c") || arg.equals("--config")) {
        i++;
      } else if (arg.startsWith("-c") || arg.startsWith("--config=")) {
        continue;
      } else {
        return arg.startsWith("-") ? null : arg;
      }
    }
    return null;
  }

  static final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue " + KueueVersion.VERSION};
    }
  }

  @Command(
      name = "kueue",
      mixinStandardHelpOptions = true,
      versionProvider = Version.class,
      description = "Submit jobs to the Kueue server and see how they and the workers are doing.",
      footer = {
        "",
        "Exit codes: 0 ok, 2 usage or config error, 3 server unreachable, 4 authentication"
            + " failed, 5 request rejected or not found; cmd --wait and wait-job exit with the"
            + " job's code."
      })
  static final class KueueCommand implements Callable<Integer> {
    private final CliContext context;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    KueueCommand(CliContext context) {
      this.context = context;
    }

    @Option(
        names = {"-c", "--config"},
        paramLabel = "PATH",
        description = "Config file (default: ~/.config/kueue/config.toml).")
    void config(Path file) {
      context.useConfigFile(file);
    }

    @Override
    public Integer call() {
      spec.commandLine().usage(spec.commandLine().getErr());
      return ExitCodes.USAGE_OR_CONFIG;
    }
  }

  /** The one place that turns failures into a line on stderr and an exit code. */
  static final class ErrorHandler
      implements CommandLine.IParameterExceptionHandler, CommandLine.IExecutionExceptionHandler {
    private final CliContext context;

    ErrorHandler(CliContext context) {
      this.context = context;
    }

    @Override
    public int handleParseException(ParameterException e, String[] args) {
      return usage(e);
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine, ParseResult result) {
      PrintWriter err = commandLine.getErr();
      int exitCode;
      switch (e) {
        case ParameterException usage -> {
          return usage(usage);
        }
        case CliException cli -> {
          err.println("kueue: " + cli.getMessage());
          exitCode = cli.exitCode();
        }
        case ConfigException config -> {
          err.println("kueue: " + config.getMessage());
          exitCode = ExitCodes.USAGE_OR_CONFIG;
        }
        default -> {
          err.println("kueue: unexpected error: " + e);
          exitCode = ExitCodes.UNEXPECTED;
        }
      }
      if (context.showStackTraces()) {
        e.printStackTrace(err);
      }
      err.flush();
      return exitCode;
    }

    private int usage(ParameterException e) {
      CommandLine commandLine = e.getCommandLine();
      PrintWriter err = commandLine.getErr();
      String name = commandLine.getCommandSpec().qualifiedName();
      String message = e.getMessage();
      if (e instanceof UnmatchedArgumentException unmatched
          && commandLine.getCommandSpec().parent() == null
          && !unmatched.isUnknownOption()
          && !unmatched.getUnmatched().isEmpty()) {
        message = "unknown command '" + unmatched.getUnmatched().getFirst() + "'";
      }
      StringBuilder line = new StringBuilder(name).append(": ").append(message);
      if (e instanceof UnmatchedArgumentException unmatched
          && !unmatched.getSuggestions().isEmpty()) {
        line.append(" (did you mean ")
            .append(String.join(" or ", unmatched.getSuggestions()))
            .append("?)");
      }
      line.append(" (see ").append(name).append(" --help)");
      err.println(line);
      err.flush();
      return ExitCodes.USAGE_OR_CONFIG;
    }
  }
}
