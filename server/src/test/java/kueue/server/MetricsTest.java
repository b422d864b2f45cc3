package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.model.CapturedOutput;
import kueue.model.Dependency;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** [server] metrics_address: a real server's metrics in Prometheus text format. */
@Timeout(60)
class MetricsTest {
  @TempDir Path home;
  private ServerFixture fixture;
  private KueueServer server;
  private PeerConnection client;
  private final List<RawPeer> workers = new ArrayList<>();

  @BeforeEach
  void startServer() throws Exception {
    fixture =
        ServerFixture.start(
            home,
            "tls",
            "metrics_address = \"127.0.0.1:%d\"".formatted(freePort()),
            ServerFixture.standardLimits());
    server = fixture.server;
    client = fixture.client();
  }

  @AfterEach
  void stopServer() throws Exception {
    for (RawPeer worker : workers) {
      worker.close();
    }
    client.close();
    fixture.close();
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

  private long submit(JobSpec spec) throws Exception {
    client.send(new Message.Submit(List.of(spec)));
    return ((Message.Submitted) client.receive()).ids().getFirst();
  }

  /** A raw worker that has registered under name; its id as the server gave it. */
  private long register(String name) throws Exception {
    RawPeer worker = fixture.authenticated("worker");
    workers.add(worker);
    worker.send(
        new Message.Register(
            name, ServerFixture.system(name), ServerFixture.capacity(), List.of(), List.of()));
    long id = ((Message.Registered) worker.receive()).workerId();
    ServerFixture.keepAlive(worker, name);
    return id;
  }

  @Test
  void twoWorkersOfOneNameAreScrapedAsSeriesOfTheirOwnIds() throws Exception {
    long first = register("twin");
    long second = register("twin");

    String metrics = scrape();

    assertThat(first).isNotEqualTo(second);
    assertThat(metrics.lines()).contains("kueue_workers_connected 2.0");
    List<String> gauges =
        List.of("kueue_worker_cpus", "kueue_worker_ram_bytes", "kueue_worker_slots");
    for (String gauge : gauges) {
      for (long id : List.of(first, second)) {
        for (String kind : List.of("total", "used", "free")) {
          assertThat(metrics.lines())
              .as(gauge + " of worker " + id)
              .anyMatch(
                  line ->
                      line.startsWith(
                          "%s{kind=\"%s\",worker=\"twin\",worker_id=\"%d\"} "
                              .formatted(gauge, kind, id)));
        }
      }
    }
  }

  @Test
  void countsHeldWaitingAndTimedOutJobs() throws Exception {
    long held = submit(spec().withHold(true));
    submit(spec().withDependencies(Dependency.parse("afterok:" + held)));
    register("box");
    RawPeer worker = workers.getLast();
    long stopped = submit(spec());
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    assertThat(offer.jobId()).isEqualTo(stopped);
    worker.send(new Message.Started(stopped, offer.attempt(), Instant.now()));
    Instant now = Instant.now();
    worker.send(
        new Message.Ended(
            stopped,
            offer.attempt(),
            new JobOutcome(null, 9, null, now, now).asTimedOut(),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY));

    await()
        .atMost(Duration.ofSeconds(20))
        .untilAsserted(
            () ->
                assertThat(scrape().lines())
                    .contains(
                        "kueue_jobs{state=\"held\"} 1.0",
                        "kueue_jobs{state=\"waiting\"} 1.0",
                        "kueue_jobs{state=\"timed_out\"} 1.0",
                        "kueue_jobs{state=\"pending\"} 0.0",
                        "kueue_jobs_ended_total{outcome=\"timed_out\"} 1.0",
                        "kueue_jobs_ended_total{outcome=\"failed\"} 0.0"));
  }

  @Test
  void aFailedScrapeIsLoggedOnceAndNotAtEveryScrape() {
    ServerMetrics.ScrapeErrorLogging registry = new ServerMetrics.ScrapeErrorLogging();
    GaugeWithCallback.builder()
        .name("duplicated")
        .labelNames("worker")
        .callback(
            callback -> {
              callback.call(1, "twin");
              callback.call(1, "twin");
            })
        .register(registry);
    Logger logger = (Logger) LoggerFactory.getLogger(ServerMetrics.class);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    logger.addAppender(logs);
    try {
      assertThatThrownBy(registry::scrape).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(registry::scrape).isInstanceOf(IllegalArgumentException.class);
    } finally {
      logger.detachAppender(logs);
    }

    assertThat(logs.list)
        .singleElement()
        .satisfies(event -> assertThat(event.getThrowableProxy().getMessage()).contains("twin"));
  }
}
