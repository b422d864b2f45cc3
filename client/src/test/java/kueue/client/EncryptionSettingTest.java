package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import kueue.protocol.Message;
import kueue.protocol.TransportSecurity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EncryptionSettingTest {
  private static final String PLAIN = "encryption = \"none\"\n";

  @TempDir Path home;

  private static ScriptedServer server(TransportSecurity transport) throws Exception {
    return new ScriptedServer(
        CliHarness.SECRET, transport, request -> new Message.ResourceList(List.of()));
  }

  @Test
  void anEncryptedConnectionNeedsNoWarning() throws Exception {
    try (ScriptedServer server = server(TransportSecurity.server(ScriptedServer.KEY))) {
      CliHarness.Result result =
          new CliHarness(home).pointingAt(server.port()).run("list-resources");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(result.err()).isEmpty();
    }
  }

  @Test
  void anUnencryptedConnectionWorksButEveryCommandWarnsInOneLine() throws Exception {
    try (ScriptedServer server = server(TransportSecurity.none())) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port(), CliHarness.SECRET, PLAIN);

      CliHarness.Result result = cli.run("list-resources");

      assertThat(result.exitCode()).as(result.err()).isZero();
      assertThat(result.err())
          .isEqualTo(
              "kueue: warning: the connection to 127.0.0.1:"
                  + server.port()
                  + " is not encrypted (encryption = \"none\" in "
                  + cli.config
                  + ")\n");
    }
  }

  @Test
  void aPlainClientAtATlsServerIsAConfigurationErrorNamingTheFile() throws Exception {
    try (ScriptedServer server = server(TransportSecurity.server(ScriptedServer.KEY))) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port(), CliHarness.SECRET, PLAIN);

      CliHarness.Result result = cli.run("list-resources");

      assertThat(result.exitCode()).isEqualTo(2);
      assertThat(result.err())
          .startsWith("kueue: cannot talk to the Kueue server at 127.0.0.1:" + server.port())
          .contains("accepts only TLS-encrypted connections")
          .contains("encryption = \"none\" from " + cli.config)
          .hasLineCount(1);
      assertThat(server.requests()).isEmpty();
    }
  }

  @Test
  void aTlsClientAtAPlainServerIsAConfigurationErrorToo() throws Exception {
    try (ScriptedServer server = server(TransportSecurity.none())) {
      CliHarness cli = new CliHarness(home).pointingAt(server.port());

      CliHarness.Result result = cli.run("list-resources");

      assertThat(result.exitCode()).isEqualTo(2);
      assertThat(result.err())
          .contains("the server probably has encryption = \"none\"")
          .contains("encryption = \"tls\" from " + cli.config)
          .hasLineCount(1);
      assertThat(server.requests()).isEmpty();
    }
  }
}
