package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandModelTest {
  private static CliContext context() {
    return CliContext.of(
        Map.of("HOME", "/nonexistent"),
        Path.of("/"),
        new PrintWriter(new StringWriter()),
        false,
        Clock.systemUTC());
  }

  @Test
  void theCommandNameIsTheFirstArgumentAfterKueuesOwnConfigOption() {
    assertThat(KueueCli.commandName(new String[] {"cmd", "-c", "2", "true"})).isEqualTo("cmd");
    assertThat(KueueCli.commandName(new String[] {"-c", "my.toml", "list-jobs"}))
        .isEqualTo("list-jobs");
    assertThat(KueueCli.commandName(new String[] {"--config", "my.toml", "show-job", "3"}))
        .isEqualTo("show-job");
    assertThat(KueueCli.commandName(new String[] {"-cmy.toml", "wait-job", "3"}))
        .isEqualTo("wait-job");
    assertThat(KueueCli.commandName(new String[] {"--config=my.toml", "cmd", "x"}))
        .isEqualTo("cmd");
    assertThat(KueueCli.commandName(new String[] {"--help"})).isNull();
    assertThat(KueueCli.commandName(new String[] {"-c", "my.toml"})).isNull();
    assertThat(KueueCli.commandName(new String[] {})).isNull();
  }

  @Test
  void aServerCommandGetsOnlyItsOwnModelAndEverythingElseGetsAllCommands() {
    assertThat(KueueCli.commandLine(context(), new String[] {"cmd", "true"}).getSubcommands())
        .containsOnlyKeys("cmd");
    assertThat(
            KueueCli.commandLine(context(), new String[] {"-c", "x.toml", "list-jobs"})
                .getSubcommands())
        .containsOnlyKeys("list-jobs");
    assertThat(KueueCli.commandLine(context(), new String[] {"help", "cmd"}).getSubcommands())
        .containsKeys("cmd", "list-jobs", "complete", "help")
        .hasSize(15);
    assertThat(KueueCli.commandLine(context(), new String[] {"lst-jobs"}).getSubcommands())
        .hasSize(15);
    assertThat(KueueCli.commandLine(context(), new String[] {"--version"}).getSubcommands())
        .hasSize(15);
  }

  @Test
  void cmdStillLeavesEverythingAfterTheProgramToTheJobWhenBuiltAlone(@TempDir Path home) {
    CliHarness.Result result = new CliHarness(home).run("cmd", "--bogus-option-of-kueue", "x");

    assertThat(result.exitCode()).isEqualTo(ExitCodes.USAGE_OR_CONFIG);
    assertThat(result.err()).contains("kueue cmd: Unknown option: '--bogus-option-of-kueue'");
    assertThat(
            KueueCli.commandLine(context(), new String[] {"cmd", "x"})
                .getSubcommands()
                .get("cmd")
                .isStopAtPositional())
        .isTrue();
  }
}
