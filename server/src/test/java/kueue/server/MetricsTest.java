package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** [server] metrics_address: a real server's metrics in Prometheus text format. */
@Timeout(60)
class MetricsTest {
  private static final String SECRET = "oEZadgUyUKn0sz8jUYrG2g08QB4DLpNGgvHhzMF6dDc";

  @TempDir Path home;
  private KueueServer server;
  private PeerConnection client;

  @BeforeEach
  void startServer() throws Exception {
    Path file = home.resolve("config.toml");
    Files.writeString(
        file,
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        [server]
        address_bindings = "127.0.0.1"
        data_directory = "%s"
        metrics_address = "127.0.0.1:%d"
        """
            .formatted(SECRET, freePort(), home.resolve("data"), freePort()));
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    KueueConfig config = ConfigLoader.load(file, warning -> {}, Map.of("HOME", home.toString()));
    server = KueueServer.start(config, Clock.systemUTC(), () -> {});
    client =
        PeerConnection.open(
            "127.0.0.1",
            server.addresses().getFirst().getPort(),
            SECRET,
            "client",
            "test",
            Duration.ofSeconds(10),
            kueue.protocol.TransportSecurity.client(config.common().serverKeyFile()));
  }

  @AfterEach
  void stopServer() {
    client.close();
    server.close();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static JobSpec spec() {
    return JobSpecBuilder.builder()
        .argv(List.of("true"))
        .cwd("/tmp")
        .env(Map.of())
        .slots(1)
        .cpus(1)
        .ramMb(10)
        .globalResources(Map.of())
        .build();
  }

  private String scrape() throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + server.metricsPort() + "/metrics"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type").orElseThrow())
          .startsWith("text/plain");
      return response.body();
    }
  }

  private String submitThreeAndCancelOne() throws Exception {
    client.send(new Message.Submit(List.of(spec(), spec(), spec())));
    assertThat(client.receive()).isInstanceOf(Message.Submitted.class);
    client.send(new Message.RemoveJob(2, false));
    assertThat(client.receive()).isInstanceOf(Message.JobRemoved.class);
    return scrape();
  }

  @Test
  void countsJobsByStateAndOutcomeAndTimesTurnsAndCommits() throws Exception {
    String metrics = submitThreeAndCancelOne();

    assertThat(metrics.lines())
        .contains(
            "kueue_jobs_submitted_total 3.0",
            "kueue_jobs_ended_total{outcome=\"canceled\"} 1.0",
            "kueue_jobs_ended_total{outcome=\"succeeded\"} 0.0",
            "kueue_jobs{state=\"pending\"} 2.0",
            "kueue_jobs{state=\"canceled\"} 1.0",
            "kueue_workers_connected 0.0");
    assertThat(metrics)
        .contains("kueue_scheduler_turn_seconds_bucket{le=\"0.001\"}")
        .contains("kueue_store_commit_seconds_count ");
  }

  @Test
  void promtoolAcceptsTheMetrics() throws Exception {
    Path promtool = Path.of("/usr/bin/promtool");
    assumeTrue(Files.isExecutable(promtool), "promtool (Debian package prometheus) is missing");
    String metrics = submitThreeAndCancelOne();

    Process check =
        new ProcessBuilder(promtool.toString(), "check", "metrics")
            .redirectErrorStream(true)
            .start();
    check.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
    check.getOutputStream().close();
    String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(check.waitFor(30, TimeUnit.SECONDS)).isTrue();

    assertThat(check.exitValue()).as(output).isZero();
  }
}
