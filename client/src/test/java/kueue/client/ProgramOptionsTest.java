package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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
        "complete",
        "generate-secret"
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
  void theZshScriptLoadsInARealZshAndCompletesWithoutErrors() throws Exception {
    CliHarness.Result result = new CliHarness(home).run("complete", "zsh");
    Path script = home.resolve("kueue.zsh");
    Files.writeString(script, result.out());

    // What a Tab after "kueue list-j" runs: the completion function with bash's variables set.
    Shell.Result zsh =
        Shell.run(
            List.of(
                "zsh",
                "-f",
                "-c",
                "source "
                    + script
                    + "; COMP_WORDS=(kueue list-j); COMP_CWORD=1; COMP_LINE='kueue list-j';"
                    + " COMP_POINT=12; _complete_kueue kueue list-j kueue;"
                    + " print -l -- $COMPREPLY"));

    assertThat(zsh.err()).doesNotContain("command not found");
    assertThat(zsh.exitCode()).isZero();
    assertThat(zsh.out()).contains("list-jobs");
  }

  @Test
  void theFishScriptCompletesCommandsAndTheirOptionsInARealFish() throws Exception {
    CliHarness.Result result = new CliHarness(home).run("complete", "fish");
    assertThat(result.exitCode()).isZero();
    Path script = home.resolve("kueue.fish");
    Files.writeString(script, result.out());

    Shell.Result commands =
        Shell.run(List.of("fish", "-N", "-c", "source " + script + "; complete -C 'kueue list-'"));
    Shell.Result options =
        Shell.run(
            List.of(
                "fish", "-N", "-c", "source " + script + "; complete -C 'kueue list-jobs --js'"));

    assertThat(commands.err()).isEmpty();
    assertThat(commands.out()).contains("list-jobs\t").contains("list-workers\t");
    assertThat(options.out()).startsWith("--json");
  }

  @Test
  void completeRejectsAnUnknownShell() {
    CliHarness.Result result = new CliHarness(home).run("complete", "tcsh");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("tcsh");
  }

  @Test
  void generateSecretPrintsA256BitSecretWithoutAConfig() {
    CliHarness.Result first = new CliHarness(home).run("generate-secret");
    CliHarness.Result second = new CliHarness(home).run("generate-secret");

    assertThat(first.exitCode()).isZero();
    assertThat(first.out()).matches("[A-Za-z0-9_-]{43}\n");
    assertThat(second.out()).isNotEqualTo(first.out());
    assertThat(kueue.config.SecretStrength.estimateBits(first.out().strip()))
        .isGreaterThan(kueue.config.SecretStrength.MIN_BITS);
    assertThat(home.resolve(".config")).doesNotExist();
  }

  @Test
  void generateSecretWorksWhileTheConfigHoldsAWeakSecret() throws Exception {
    CliHarness cli = new CliHarness(home).pointingAt(1, "Summer2024!", "");

    assertThat(cli.run("list-jobs").exitCode()).isEqualTo(2);
    assertThat(cli.run("list-jobs").err()).contains("kueue generate-secret");
    assertThat(cli.run("generate-secret").exitCode()).isZero();
  }

  /** A real shell, run to its end. */
  private record Shell(List<String> command) {
    record Result(int exitCode, String out, String err) {}

    static Result run(List<String> command) throws Exception {
      Process process =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      CompletableFuture<String> err =
          CompletableFuture.supplyAsync(() -> read(process.getErrorStream()));
      String out = read(process.getInputStream());
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      return new Result(process.exitValue(), out, err.get());
    }

    private static String read(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
