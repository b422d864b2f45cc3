package kueue.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs kueue in-process against a config file in a temporary directory. */
final class CliHarness {
  static final String SECRET = "dM4libhP2rL4MVsTD8JGvoLeqSbewLEL_U9jHvw2h6A";
  static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

  record Result(int exitCode, String out, String err) {
    List<String> outLines() {
      return out.isEmpty() ? List.of() : List.of(out.split("\n"));
    }
  }

  final Path home;
  final Map<String, String> env = new HashMap<>();
  Path config;
  Path cwd;
  String stdin = "";

  CliHarness(Path home) {
    this.home = home;
    this.cwd = home;
    env.put("HOME", home.toString());
    env.put("COLUMNS", "100");
    env.put("LINES", "30");
  }

  /** A config pointing at 127.0.0.1:port; extra is appended (e.g. a [client] section). */
  CliHarness pointingAt(int port, String secret, String extra) throws IOException {
    config = home.resolve("config.toml");
    Files.writeString(
        config,
        "[common]\nshared_secret = \""
            + secret
            + "\"\nserver_name = \"127.0.0.1\"\nserver_port = "
            + port
            + "\n"
            + extra);
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
    kueue.protocol.ServerKeyPin.publish(
        home.resolve("server-key.pub"), ScriptedServer.KEY, "the scripted servers' key");
    return this;
  }

  CliHarness pointingAt(int port) throws IOException {
    return pointingAt(port, SECRET, "");
  }

  Result run(String... args) {
    List<String> all = new ArrayList<>();
    if (config != null) {
      all.add("-c");
      all.add(config.toString());
    }
    all.addAll(List.of(args));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exitCode =
        KueueCli.run(
            null,
            all.toArray(String[]::new),
            new PrintWriter(out),
            new PrintWriter(err),
            env,
            cwd,
            false,
            TerminalInfo.CONTROLLING_TERMINAL,
            Clock.fixed(NOW, ZoneOffset.UTC),
            new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            null,
            kueue.client.daemon.ProcessUmask.current());
    return new Result(exitCode, out.toString(), err.toString());
  }
}
