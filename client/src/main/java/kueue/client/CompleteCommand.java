package kueue.client;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code kueue complete}: prints a completion script; needs neither config nor server. */
@Command(
    name = "complete",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Print a completion script for bash, zsh or fish.",
      "Use: eval \"$(kueue complete bash)\" in ~/.bashrc, eval \"$(kueue complete zsh)\" in"
          + " ~/.zshrc, or: kueue complete fish > ~/.config/fish/completions/kueue.fish"
    })
final class CompleteCommand implements Callable<Integer> {
  enum Shell {
    bash,
    zsh,
    fish
  }

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "SHELL", description = "bash, zsh or fish.")
  Shell shell;

  @Override
  public Integer call() {
    CommandLine root = spec.root().commandLine();
    if (shell == Shell.fish) {
      spec.commandLine().getOut().print(fish(root));
      return ExitCodes.OK;
    }
    String script = AutoComplete.bash("kueue", root);
    if (shell == Shell.zsh) {
      // The bash script runs in zsh through its bash-completion emulation, which lacks bash's
      // compopt builtin; the script only uses it to fine-tune how names are shown.
      spec.commandLine()
          .getOut()
          .println(
              "autoload -U +X bashcompinit && bashcompinit\n"
                  + "(( $+functions[compopt] )) || compopt() { return 0; }");
    }
    spec.commandLine().getOut().print(script);
    return ExitCodes.OK;
  }

  /** One {@code complete} line per command and per option of each command, with its help. */
  static String fish(CommandLine root) {
    StringBuilder script = new StringBuilder("complete -c kueue -e\ncomplete -c kueue -f\n");
    for (Map.Entry<String, CommandLine> entry : root.getSubcommands().entrySet()) {
      String name = entry.getKey();
      CommandSpec command = entry.getValue().getCommandSpec();
      script
          .append("complete -c kueue -n __fish_use_subcommand -a ")
          .append(name)
          .append(" -d ")
          .append(fishQuoted(firstLine(command.usageMessage().description())))
          .append('\n');
      for (OptionSpec option : command.options()) {
        script
            .append("complete -c kueue -n '__fish_seen_subcommand_from ")
            .append(name)
            .append("'");
        for (String optionName : option.names()) {
          if (optionName.startsWith("--")) {
            script.append(" -l ").append(optionName.substring(2));
          } else if (optionName.length() == 2) {
            script.append(" -s ").append(optionName.substring(1));
          }
        }
        if (option.arity().max() > 0) {
          script.append(" -r");
          if (option.completionCandidates() != null) {
            StringBuilder candidates = new StringBuilder();
            option.completionCandidates().forEach(c -> candidates.append(c).append(' '));
            script.append(" -a ").append(fishQuoted(candidates.toString().strip()));
          }
        }
        script.append(" -d ").append(fishQuoted(firstLine(option.description()))).append('\n');
      }
    }
    return script.toString();
  }

  private static String firstLine(String[] description) {
    return description.length == 0 ? "" : description[0].lines().findFirst().orElse("");
  }

  private static String fishQuoted(String text) {
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
