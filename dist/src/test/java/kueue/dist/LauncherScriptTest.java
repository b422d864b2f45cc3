package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The launchers that {@code install.sh} writes, run as a user runs them. */
class LauncherScriptTest {
  private static final Path INSTALL_SH = Path.of("..", "install.sh").toAbsolutePath().normalize();

  @TempDir Path dir;

  @Test
  void fromADeletedDirectoryALauncherSaysSoInOneLineAndExits2() throws Exception {
    Path launchers = Files.createDirectories(dir.resolve("bin"));
    String writeLauncher = functionFromInstallSh("write_launcher");
    run(
        "share="
            + dir.resolve("share")
            + "\n"
            + writeLauncher
            + "\n"
            + "write_launcher "
            + launchers
            + " kueue kueue.client.KueueCli '-Xmx64m' ''\n"
            + "write_launcher "
            + launchers
            + " kueue_worker kueue.worker.WorkerMain '-Xmx64m' ''\n");
    Path gone = Files.createDirectories(dir.resolve("gone"));

    Result result =
        run("cd " + gone + " && rmdir " + gone + " && " + launchers.resolve("kueue") + " cmd true");

    assertThat(result.exitCode()).isEqualTo(2);
    List<String> ours = result.err().lines().filter(line -> line.startsWith("kueue:")).toList();
    assertThat(ours)
        .singleElement()
        .asString()
        .contains("the current directory no longer exists")
        .contains("kueue cmd");
    assertThat(result.err()).doesNotContain("java.lang").doesNotContain("Exception");
    Path goneToo = Files.createDirectories(dir.resolve("gone-too"));
    Result worker =
        run(
            "cd "
                + goneToo
                + " && rmdir "
                + goneToo
                + " && "
                + launchers.resolve("kueue_worker")
                + " --help");
    assertThat(worker.exitCode()).isEqualTo(2);
    assertThat(worker.err())
        .contains("kueue_worker: the current directory no longer exists")
        .doesNotContain("kueue cmd");
  }

  @Test
  void fromAnExistingDirectoryTheLauncherStartsTheJvm() throws Exception {
    Path launchers = Files.createDirectories(dir.resolve("bin"));
    Path share = Files.createDirectories(dir.resolve("share/runtime/bin"));
    Path java = share.resolve("java");
    // Stands in for the JVM: shows the directory and arguments it was started with.
    Files.writeString(java, "#!/bin/sh\npwd\necho \"$@\"\n");
    java.toFile().setExecutable(true);
    run(
        "share="
            + dir.resolve("share")
            + "\n"
            + functionFromInstallSh("write_launcher")
            + "\n"
            + "write_launcher "
            + launchers
            + " kueue kueue.client.KueueCli '-Xmx64m' ''\n");

    Result result = run("cd " + dir + " && " + launchers.resolve("kueue") + " list-jobs");

    assertThat(result.exitCode()).isZero();
    assertThat(result.out()).startsWith(dir + "\n").contains("kueue.client.KueueCli list-jobs");
  }

  /**
   * install.sh links a runtime of only the JDK modules it names; a class of a module left out is
   * missing only there (the tests run on a full JDK), e.g. the dashboard's HTTP server.
   */
  @Test
  void theRuntimeInstallShLinksHasEveryJdkModuleKueuesOwnCodeUses() throws Exception {
    Path repository = INSTALL_SH.getParent();
    List<String> ownCode =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .map(entry -> Path.of(entry).toAbsolutePath().normalize())
            .filter(entry -> entry.startsWith(repository) && Files.exists(entry))
            .filter(entry -> !entry.toString().contains("test-classes"))
            .filter(entry -> !entry.getFileName().toString().endsWith("-tests.jar"))
            .map(Path::toString)
            .toList();
    assertThat(ownCode).as("the modules' classes").hasSizeGreaterThan(5);
    List<String> arguments = new ArrayList<>();
    arguments.addAll(
        List.of("--multi-release", "25", "--ignore-missing-deps", "--print-module-deps"));
    arguments.addAll(ownCode);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exitCode =
        ToolProvider.findFirst("jdeps")
            .orElseThrow()
            .run(new PrintWriter(out), new PrintWriter(err), arguments.toArray(String[]::new));
    assertThat(exitCode).as(err.toString()).isZero();
    List<String> used = List.of(out.toString().strip().split(","));

    String line =
        Files.readAllLines(INSTALL_SH).stream()
            .filter(l -> l.startsWith("modules="))
            .findFirst()
            .orElseThrow();
    List<String> linked = List.of(line.substring("modules=".length()).split(","));

    assertThat(used).contains("java.base", "jdk.httpserver");
    assertThat(linked).containsAll(used);
  }

  private static String functionFromInstallSh(String name) throws Exception {
    List<String> lines = Files.readAllLines(INSTALL_SH);
    int start = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(name + "() {")) {
        start = i;
      } else if (start >= 0 && lines.get(i).equals("}")) {
        return String.join("\n", lines.subList(start, i + 1));
      }
    }
    throw new AssertionError("no function " + name + " in " + INSTALL_SH);
  }

  private record Result(int exitCode, String out, String err) {}

  private static Result run(String script) throws Exception {
    Process process =
        new ProcessBuilder("bash", "-c", script)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    byte[] err = process.getErrorStream().readAllBytes();
    byte[] out = process.getInputStream().readAllBytes();
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(
        process.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }
}
