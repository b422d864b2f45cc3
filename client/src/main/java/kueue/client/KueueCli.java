package kueue.client;

import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Callable;
import kueue.config.ConfigException;
import kueue.config.KueueVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** {@code kueue}, the command-line client (SPEC §4). */
public final class KueueCli {
  private KueueCli() {}

  public static void main(String[] args) {
    var console = System.console();
    boolean terminal = console != null && console.isTerminal();
    PrintWriter out =
        new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), false);
    PrintWriter err =
        new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
    int exitCode =
        run(
            args,
            out,
            err,
            System.getenv(),
            Path.of("").toAbsolutePath(),
            terminal,
            Clock.systemUTC());
    out.flush();
    err.flush();
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
    return run(args, out, err, env, cwd, false, Clock.systemUTC());
  }

  static int run(
      String[] args,
      PrintWriter out,
      PrintWriter err,
      Map<String, String> env,
      Path cwd,
      boolean stdoutIsTerminal,
      Clock clock) {
    return run(args, out, err, env, cwd, stdoutIsTerminal, clock, System.in);
  }

  static int run(
      String[] args,
      PrintWriter out,
      PrintWriter err,
      Map<String, String> env,
      Path cwd,
      boolean stdoutIsTerminal,
      Clock clock,
      InputStream stdin) {
    CliContext context = new CliContext(env, cwd, err, stdoutIsTerminal, clock);
    context.useStdin(stdin);
    CommandLine commandLine = commandLine(context);
    commandLine.setOut(out);
    commandLine.setErr(err);
    try {
      return commandLine.execute(args);
    } finally {
      out.flush();
      err.flush();
    }
  }

  static CommandLine commandLine(CliContext context) {
    CommandLine root = new CommandLine(new KueueCommand(context));
    root.addSubcommand(new CmdCommand(context));
    root.addSubcommand(new ListJobsCommand(context));
    root.addSubcommand(new ShowJobCommand(context));
    root.addSubcommand(new WaitJobCommand(context));
    root.addSubcommand(new RemoveJobCommand(context));
    root.addSubcommand(new CleanJobsCommand(context));
    root.addSubcommand(new ListWorkersCommand(context));
    root.addSubcommand(new ShowWorkerCommand(context));
    root.addSubcommand(new ListResourcesCommand(context));
    root.addSubcommand(new CompleteCommand());
    root.addSubcommand(new CommandLine.HelpCommand());
    // Everything after the program belongs to the job, even "-c" or "--help".
    root.getSubcommands().get("cmd").setStopAtPositional(true);
    ErrorHandler handler = new ErrorHandler(context);
    root.setParameterExceptionHandler(handler);
    root.setExecutionExceptionHandler(handler);
    return root;
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
