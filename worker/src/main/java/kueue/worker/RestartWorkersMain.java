package kueue.worker;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import kueue.config.KueueVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The program {@code kueue_restart_workers} (SPEC §8); not implemented yet. */
@Command(
    name = "kueue_restart_workers",
    mixinStandardHelpOptions = true,
    versionProvider = RestartWorkersMain.Version.class,
    description = "Starts a worker over SSH on every configured host where none is connected.")
public final class RestartWorkersMain implements Callable<Integer> {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "PATH",
      description = "configuration file (default: ~/.config/kueue/config.toml)")
  Path config;

  @Option(names = "--once", description = "check every host once, then exit")
  boolean once;

  @Spec CommandSpec spec;

  public static void main(String[] args) {
    System.exit(
        execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  static int execute(PrintWriter out, PrintWriter err, String... args) {
    return new CommandLine(new RestartWorkersMain()).setOut(out).setErr(err).execute(args);
  }

  @Override
  public Integer call() {
    spec.commandLine().getErr().println("kueue_restart_workers: not implemented yet");
    return 1;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue_restart_workers " + KueueVersion.VERSION};
    }
  }
}
