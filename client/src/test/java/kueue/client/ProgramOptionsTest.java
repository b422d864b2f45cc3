package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import kueue.config.KueueVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProgramOptionsTest {
  @TempDir Path home;

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "cmd",
        "list-jobs",
        "show-job",
        "wait-job",
        "remove-job",
        "clean-jobs",
        "list-workers",
        "show-worker",
        "list-resources",
        "complete"
      })
  void everyCommandPrintsTheVersion(String command) {
    String[] args =
        command.isEmpty() ? new String[] {"--version"} : new String[] {command, "--version"};

    CliHarness.Result result = new CliHarness(home).run(args);

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).isEqualTo("kueue " + KueueVersion.VERSION + "\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"cmd", "list-jobs", "show-job", "wait-job", "remove-job", "clean-jobs"})
  void everyCommandPrintsHelpWithoutAConfig(String command) {
    CliHarness.Result result = new CliHarness(home).run(command, "--help");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).startsWith("Usage: kueue " + command);
    assertThat(home.resolve(".config")).doesNotExist();
  }

  @Test
  void completeBashPrintsACompletionScriptForEveryCommand() {
    CliHarness.Result result = new CliHarness(home).run("complete", "bash");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).contains("complete -F").contains("list-jobs").contains("show-worker");
    assertThat(home.resolve(".config")).doesNotExist();
  }

  @Test
  void completeZshLoadsBashCompletionSupportFirst() {
    CliHarness.Result result = new CliHarness(home).run("complete", "zsh");

    assertThat(result.exitCode()).isZero();
    assertThat(result.outLines().getFirst())
        .isEqualTo("autoload -U +X bashcompinit && bashcompinit");
    assertThat(result.out()).contains("complete -F");
  }

  @Test
  void completeRejectsAnUnknownShell() {
    CliHarness.Result result = new CliHarness(home).run("complete", "fish");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("fish");
  }
}
