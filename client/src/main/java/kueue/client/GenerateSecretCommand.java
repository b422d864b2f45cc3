package kueue.client;

import java.util.concurrent.Callable;
import kueue.config.ConfigLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code kueue generate-secret}: prints a new shared secret; needs neither config nor server. */
@Command(
    name = "generate-secret",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = {
      "Print a new random shared_secret (256 bits).",
      "Put it in [common] shared_secret of the config file of every machine that runs Kueue,"
          + " then restart the server and the workers."
    })
final class GenerateSecretCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().getOut().println(ConfigLoader.newSharedSecret());
    return ExitCodes.OK;
  }
}
