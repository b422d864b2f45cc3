package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.protocol.LoopbackRelay;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What someone capturing the network traffic of a real fleet sees during {@code kueue cmd}: a relay
 * in front of the server records every byte the client and the worker exchange with it. With the
 * default TLS nothing of the command, its environment, its output or the secret shows; with {@code
 * encryption = "none"} command and output are there to read, which proves the capture works, and
 * the secret still is not. The plain fleet also runs with config files readable by everybody, to
 * check that every program warns about that.
 */
class EncryptionOnTheWireTest {
  @TempDir Path home;

  /** One fleet whose client and worker reach the server only through the recording relay. */
  private record Captured(
      Fleet fleet, LoopbackRelay proxy, Path clientConfig, Path workerConfig, Process worker)
      implements AutoCloseable {
    @Override
    public void close() throws IOException {
      proxy.close();
      fleet.close();
    }
  }

  /**
   * Starts server and worker; with {@code readableConfigs} their config files (and the client's)
   * are readable by everybody, as a careless copy would leave them (which the files must then
   * allow, or every program refuses them).
   */
  private Captured startFleet(String encryption, boolean readableConfigs) throws Exception {
    Fleet fleet = new Fleet(home);
    String common =
        "encryption = \""
            + encryption
            + "\""
            + (readableConfigs ? "\nallow_readable_config = true" : "");
    if (readableConfigs) {
      Path server =
          readableByOthers(fleet.config("server", Fleet.SECRET, Map.of("common", common)));
      int startsBefore = fleet.log("server").split("listening on", -1).length;
      fleet.start("server", "kueue.server.ServerMain", "-c", server.toString());
      await()
          .atMost(Duration.ofSeconds(30))
          .until(() -> fleet.log("server").split("listening on", -1).length > startsBefore);
    } else {
      fleet.startServer(Map.of("common", common));
    }
    LoopbackRelay proxy = LoopbackRelay.forwardingBytes(fleet.port);
    Path clientConfig =
        fleet.config("client", Fleet.SECRET, proxy.port(), Map.of("common", common));
    Path workerConfig =
        fleet.config(
            "worker-captured",
            Fleet.SECRET,
            proxy.port(),
            Map.of("common", common, "worker", "worker_name = \"captured\""));
    if (readableConfigs) {
      readableByOthers(clientConfig);
      readableByOthers(workerConfig);
    }
    Process worker =
        fleet.start("worker-captured", "kueue.worker.WorkerMain", "-c", workerConfig.toString());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                fleet
                    .kueueWith(clientConfig, home, Map.of(), "list-workers", "--json")
                    .out()
                    .contains("\"captured\""));
    return new Captured(fleet, proxy, clientConfig, workerConfig, worker);
  }

  /** The command, its environment and its output, each a text that appears nowhere else. */
  private record Markers(String commandLine, String environment, String output) {
    static Markers fresh() {
      String nonce = Long.toString(System.nanoTime(), 36);
      return new Markers(
          "$((6*7))-cmdline-" + nonce, "environment-" + nonce, "42-cmdline-" + nonce);
    }
  }

  /** Submits through the relay, waits and shows the job: command, environment and output cross. */
  private List<Fleet.Result> runJob(Captured fleet, Markers markers) throws Exception {
    Map<String, String> environment = Map.of("KUEUE_TEST_MARKER", markers.environment());
    List<Fleet.Result> results = new ArrayList<>();
    Fleet.Result submitted =
        fleet
            .fleet()
            .kueueWith(
                fleet.clientConfig(),
                home,
                environment,
                "cmd",
                "--wait",
                "sh",
                "-c",
                "echo " + markers.commandLine());
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    results.add(submitted);
    String id = submitted.out().strip();
    Fleet.Result shown =
        fleet.fleet().kueueWith(fleet.clientConfig(), home, Map.of(), "show-job", id, "--json");
    assertThat(shown.out()).as("the job ran and its output was shown").contains(markers.output());
    results.add(shown);
    return results;
  }

  @Test
  void withTlsACaptureShowsNoCommandEnvironmentOutputOrSecret() throws Exception {
    Markers markers = Markers.fresh();
    try (Captured captured = startFleet("tls", false)) {
      List<Fleet.Result> results = runJob(captured, markers);

      String wire = new String(captured.proxy().seen(), StandardCharsets.ISO_8859_1);
      assertThat(wire.length()).as("traffic was captured").isGreaterThan(1000);
      assertThat(wire)
          .doesNotContain(markers.commandLine())
          .doesNotContain(markers.environment())
          .doesNotContain(markers.output())
          .doesNotContain("\"type\"")
          .doesNotContain(Fleet.SECRET);
      assertThat(results)
          .allSatisfy(
              r -> assertThat(r.err()).doesNotContain("not encrypted").doesNotContain("chmod"));
      assertSecretNowhere(captured, results);

      Path plainClient =
          captured
              .fleet()
              .config("plain-client", Fleet.SECRET, Map.of("common", "encryption = \"none\""));
      long started = System.nanoTime();
      Fleet.Result refused = captured.fleet().kueueWith(plainClient, home, Map.of(), "list-jobs");
      assertThat(Duration.ofNanos(System.nanoTime() - started))
          .as("a plain client at a TLS server does not hang")
          .isLessThan(Duration.ofSeconds(15));
      assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(2);
      assertThat(refused.err())
          .contains("accepts only TLS-encrypted connections")
          .contains(plainClient.toString());
      assertThat(refused.err().lines()).hasSize(1);
    }
  }

  @Test
  void withEncryptionOffTheCaptureShowsCommandAndOutputButStillNotTheSecret() throws Exception {
    Markers markers = Markers.fresh();
    try (Captured captured = startFleet("none", true)) {
      List<Fleet.Result> results = runJob(captured, markers);

      String wire = new String(captured.proxy().seen(), StandardCharsets.ISO_8859_1);
      assertThat(wire)
          .contains(markers.commandLine())
          .contains(markers.environment())
          .contains(markers.output())
          .doesNotContain(Fleet.SECRET);
      assertThat(results)
          .allSatisfy(
              r ->
                  assertThat(r.err())
                      .contains(
                          "kueue: warning: the connection to 127.0.0.1:"
                              + captured.proxy().port()
                              + " is not encrypted"));
      assertThat(captured.fleet().log("server")).contains("encryption = \"none\"");
      assertThat(captured.fleet().log("worker-captured")).contains("encryption = \"none\"");
      assertSecretNowhere(captured, results);

      // This fleet's config files are readable by everybody: each program says so and how to fix
      // it.
      assertThat(results)
          .allSatisfy(
              r ->
                  assertThat(r.err())
                      .contains(
                          captured.clientConfig()
                              + " holds the shared secret but can be read by other users")
                      .contains("fix with: chmod 600 " + captured.clientConfig()));
      assertThat(captured.fleet().log("server"))
          .contains("fix with: chmod 600 " + home.resolve("server.toml"));
      assertThat(captured.fleet().log("worker-captured"))
          .contains("fix with: chmod 600 " + captured.workerConfig());
    }
  }

  private static Path readableByOthers(Path config) throws Exception {
    Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
    return config;
  }

  private void assertSecretNowhere(Captured captured, List<Fleet.Result> results) throws Exception {
    Fleet fleet = captured.fleet();
    Fleet.Result json =
        fleet.kueueWith(captured.clientConfig(), home, Map.of(), "list-workers", "--json");
    assertThat(json.out()).doesNotContain(Fleet.SECRET);
    assertThat(fleet.log("server")).isNotEmpty().doesNotContain(Fleet.SECRET);
    assertThat(fleet.log("worker-captured")).isNotEmpty().doesNotContain(Fleet.SECRET);
    assertThat(results).allSatisfy(r -> assertThat(r.out() + r.err()).doesNotContain(Fleet.SECRET));
    assertThat(captured.worker().info().commandLine().orElse(""))
        .as("the worker's command line")
        .contains("-c")
        .doesNotContain(Fleet.SECRET);
  }
}
