package kueue.client;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kueue complete}: prints a completion script; needs neither config nor server. */
@Command(
    name = "complete",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Print a completion script for bash or zsh.",
      "Use: eval \"$(kueue complete bash)\" in ~/.bashrc, or eval \"$(kueue complete zsh)\" in"
          + " ~/.zshrc."
    })
final class CompleteCommand implements Callable<Integer> {
  enum Shell {
    bash,
    zsh
  }

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "SHELL", description = "bash or zsh.")
  Shell shell;

  @Override
  public Integer call() {
    String script = AutoComplete.bash("kueue", spec.root().commandLine());
    if (shell == Shell.zsh) {
      // The bash script runs in zsh through its bash-completion emulation.
      spec.commandLine().getOut().println("autoload -U +X bashcompinit && bashcompinit");
    }
    spec.commandLine().getOut().print(script);
    return ExitCodes.OK;
  }
}
