package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import kueue.protocol.Message;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErrorReportingTest {
  @TempDir Path home;

  private static int closedPort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static ScriptedServer failingWith(String code, String message) throws Exception {
    return new ScriptedServer(CliHarness.SECRET, request -> new Message.Failure(code, message));
  }

  @Test
  void anUnreachableServerIsNamedWithTheSettingsToCheckAndExits3() throws Exception {
    int port = closedPort();
    CliHarness cli = new CliHarness(home).pointingAt(port);

    CliHarness.Result result = cli.run("list-jobs");

    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.out()).isEmpty();
    assertThat(result.err())
        .startsWith(
            "kueue: cannot reach the Kueue server at 127.0.0.1:" + port + ": connection refused")
        .contains("server_name and server_port in " + cli.config)
        .hasLineCount(1);
  }

  @Test
  void aServerThatCannotProveTheSecretFailsAuthenticationWithExit4() throws Exception {
    try (ScriptedServer server = new ScriptedServer("some-other-secret", request -> null)) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port());

      CliHarness.Result result = cli.run("list-jobs");

      assertThat(result.exitCode()).isEqualTo(4);
      assertThat(result.err())
          .startsWith(
              "kueue: authentication with the Kueue server at 127.0.0.1:"
                  + server.port()
                  + " failed")
          .contains("shared_secret in " + cli.config)
          .hasLineCount(1);
      assertThat(server.requests()).isEmpty();
    }
  }

  @Test
  void aProgramWithAnotherKeyOnTheServersPortIsTreatedAsNoServerWithExit3() throws Exception {
    try (ScriptedServer squatter =
        new ScriptedServer(
            CliHarness.SECRET,
            kueue.protocol.TransportSecurity.server(kueue.protocol.ServerIdentity.generate()),
            request -> null)) {
      CliHarness cli = new CliHarness(home).pointingAt(squatter.port());

      CliHarness.Result result = cli.run("list-jobs");

      assertThat(result.exitCode()).isEqualTo(3);
      assertThat(result.err())
          .startsWith("kueue: cannot trust the Kueue server at 127.0.0.1:" + squatter.port())
          .contains("not the Kueue server key pinned in " + home.resolve("server-key.pub"))
          .contains(ScriptedServer.KEY.fingerprint())
          .hasLineCount(1);
      assertThat(squatter.requests()).isEmpty();
    }
  }

  @Test
  void withoutAPinnedKeyTheErrorSaysWhereTheServerWritesItWithExit2() throws Exception {
    try (ScriptedServer server = new ScriptedServer(CliHarness.SECRET, request -> null)) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port());
      java.nio.file.Files.delete(home.resolve("server-key.pub"));

      CliHarness.Result result = cli.run("list-jobs");

      assertThat(result.exitCode()).isEqualTo(2);
      assertThat(result.err())
          .contains(home.resolve("server-key.pub") + " does not exist")
          .contains("start the server first")
          .hasLineCount(1);
    }
  }

  @Test
  void aServerThatRejectsOurProofFailsAuthenticationWithExit4() throws Exception {
    try (ScriptedServer server =
        new ScriptedServer(CliHarness.SECRET, request -> null).rejectingEveryProof()) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port());

      CliHarness.Result result = cli.run("show-job", "1");

      assertThat(result.exitCode()).isEqualTo(4);
      assertThat(result.err()).contains("authentication failed").hasLineCount(1);
    }
  }

  @Test
  void aJobThatIsNotFoundIsReportedWithTheServersWordsAndExit5() throws Exception {
    try (ScriptedServer server = failingWith("not_found", "job 99 not found")) {
      CliHarness.Result result =
          new CliHarness(home).pointingAt(server.port()).run("show-job", "99");

      assertThat(result.exitCode()).isEqualTo(5);
      assertThat(result.out()).isEmpty();
      assertThat(result.err()).isEqualTo("kueue: job 99 not found\n");
    }
  }

  @Test
  void aRejectedRequestSaysWhyAndExits5() throws Exception {
    try (ScriptedServer server = failingWith("rejected", "unknown resource: genus")) {
      CliHarness.Result result =
          new CliHarness(home).pointingAt(server.port()).run("cmd", "--resource", "genus", "x");

      assertThat(result.exitCode()).isEqualTo(5);
      assertThat(result.err()).isEqualTo("kueue: unknown resource: genus\n");
    }
  }

  @Test
  void showsNoStackTraceAtLogLevelInfo() throws Exception {
    try (ScriptedServer server = failingWith("internal", "the server failed to answer")) {
      CliHarness.Result result = new CliHarness(home).pointingAt(server.port()).run("list-workers");

      assertThat(result.err()).isEqualTo("kueue: the server failed to answer\n");
    }
  }

  @Test
  void showsAStackTraceAtLogLevelDebug() throws Exception {
    try (ScriptedServer server = failingWith("internal", "the server failed to answer")) {
      CliHarness cli =
          new CliHarness(home)
              .pointingAt(server.port(), CliHarness.SECRET, "log_level = \"debug\"\n");

      CliHarness.Result result = cli.run("list-workers");

      assertThat(result.err())
          .startsWith("kueue: the server failed to answer\n")
          .contains("\tat kueue.client.");
    }
  }

  @Test
  void aBrokenConfigFileIsAConfigErrorWithExit2() throws Exception {
    CliHarness cli = new CliHarness(home).pointingAt(closedPort());
    Files.writeString(cli.config, "[common\nshared_secret = 1");

    CliHarness.Result result = cli.run("list-jobs");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .startsWith("kueue: " + cli.config + ":1: malformed TOML")
        .hasLineCount(1);
  }

  @Test
  void aMissingConfigFileIsCreatedWithAWarningBeforeConnecting() throws Exception {
    CliHarness cli = new CliHarness(home);
    cli.env.put("XDG_CONFIG_HOME", home.resolve("xdg").toString());

    CliHarness.Result result = cli.run("list-resources");

    assertThat(home.resolve("xdg/kueue/config.toml")).isRegularFile();
    assertThat(result.err()).startsWith("kueue: warning: created a configuration file");
  }

  @Test
  void aMisspelledOptionIsAUsageErrorOnOneLineWithExit2() {
    CliHarness.Result result = new CliHarness(home).run("list-jobs", "--runing");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .startsWith("kueue list-jobs: Unknown option: '--runing'")
        .hasLineCount(1);
  }

  @Test
  void anUnknownCommandIsAUsageErrorThatSuggestsTheRightOne() {
    CliHarness.Result result = new CliHarness(home).run("lst-jobs");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err())
        .startsWith("kueue: unknown command 'lst-jobs'")
        .contains("list-jobs")
        .hasLineCount(1);
  }

  @Test
  void aJobIdThatIsNotANumberIsAUsageError() {
    CliHarness.Result result = new CliHarness(home).run("show-job", "abc");

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("'abc' is not a long").hasLineCount(1);
  }

  @Test
  void noCommandPrintsTheUsageAndExits2() {
    CliHarness.Result result = new CliHarness(home).run();

    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.err()).contains("Usage: kueue").contains("list-jobs");
  }
}
