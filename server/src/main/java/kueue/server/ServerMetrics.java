package kueue.server;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.registry.PrometheusScrapeRequest;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import kueue.core.Event;
import kueue.core.WorkerView;
import kueue.model.JobStats;
import kueue.store.JobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's Prometheus metrics ({@code [server] metrics_address}), with the Prometheus Java
 * client. The loop thread only adds to counters and histograms (a few striped additions per turn);
 * counts by state and the workers' resources are read when Prometheus asks, from the store's
 * counters and by one query on the loop. Per-worker series carry the worker's id besides its name,
 * since two connected workers may share a name and a scrape with two equal series fails.
 */
final class ServerMetrics implements AutoCloseable {
  /** How long a scrape waits for the loop's answer about the workers before it leaves them out. */
  private static final long WORKERS_WAIT_MILLIS = 2000;

  private final PrometheusRegistry registry = new ScrapeErrorLogging();
  private final Counter submitted =
      Counter.builder()
          .name("kueue_jobs_submitted_total")
          .help("Jobs accepted by the server.")
          .register(registry);
  private final Counter started =
      Counter.builder()
          .name("kueue_jobs_started_total")
          .help("Attempts that started on a worker.")
          .register(registry);
  private final Counter ended =
      Counter.builder()
          .name("kueue_jobs_ended_total")
          .help("Jobs that ended, by outcome: succeeded (exit 0), failed, canceled, timed_out.")
          .labelNames("outcome")
          .register(registry);
  private final Counter requeued =
      Counter.builder()
          .name("kueue_jobs_requeued_total")
          .help("Attempts lost with their worker and queued again.")
          .register(registry);
  private final Histogram turns =
      Histogram.builder()
          .name("kueue_scheduler_turn_seconds")
          .help("Time of one scheduler turn that had work: decide, store, act.")
          .classicOnly()
          .classicUpperBounds(
              0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
          .register(registry);
  private final Histogram commits =
      Histogram.builder()
          .name("kueue_store_commit_seconds")
          .help("Time to write one turn's events to SQLite in one transaction.")
          .classicOnly()
          .classicUpperBounds(
              0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
          .register(registry);
  private final CounterDataPoint succeeded = ended.labelValues("succeeded");
  private final CounterDataPoint failed = ended.labelValues("failed");
  private final CounterDataPoint canceled = ended.labelValues("canceled");
  private final CounterDataPoint timedOut = ended.labelValues("timed_out");
  private HTTPServer http;

  ServerMetrics(JobStore store, SchedulerLoop loop, Clock clock) {
    GaugeWithCallback.builder()
        .name("kueue_jobs")
        .help(
            "Stored jobs by state (succeeded and failed are finished jobs by exit code; held and"
                + " waiting are kept from starting by a hold and by dependencies).")
        .labelNames("state")
        .callback(
            callback -> {
              JobStats stats = store.stats(clock.instant());
              callback.call(stats.pending(), "pending");
              callback.call(stats.held(), "held");
              callback.call(stats.waiting(), "waiting");
              callback.call(stats.offered(), "offered");
              callback.call(stats.running(), "running");
              callback.call(stats.succeeded(), "succeeded");
              callback.call(stats.failed(), "failed");
              callback.call(stats.canceled(), "canceled");
              callback.call(stats.timedOut(), "timed_out");
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_workers_connected")
        .help("Workers connected to the server.")
        .callback(callback -> callback.call(workers(loop).size()))
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_worker_cpus")
        .help("CPUs of each worker: total, reserved by Kueue's jobs, free for placement.")
        .labelNames("worker", "worker_id", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                String name = worker.name();
                String id = Long.toString(worker.workerId());
                callback.call(worker.capacity().total().cpus(), name, id, "total");
                callback.call(worker.reserved().cpus(), name, id, "used");
                callback.call(worker.free().cpus(), name, id, "free");
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_worker_ram_bytes")
        .help("RAM of each worker: total, reserved by Kueue's jobs, free for placement.")
        .labelNames("worker", "worker_id", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                String name = worker.name();
                String id = Long.toString(worker.workerId());
                callback.call(mb(worker.capacity().total().ramMb()), name, id, "total");
                callback.call(mb(worker.reserved().ramMb()), name, id, "used");
                callback.call(mb(worker.free().ramMb()), name, id, "free");
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_worker_slots")
        .help("Job slots of each worker: total, taken, free.")
        .labelNames("worker", "worker_id", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                String name = worker.name();
                String id = Long.toString(worker.workerId());
                callback.call(worker.capacity().total().slots(), name, id, "total");
                callback.call(worker.reserved().slots(), name, id, "used");
                callback.call(worker.free().slots(), name, id, "free");
              }
            })
        .register(registry);
  }

  private static double mb(long megabytes) {
    return megabytes * 1024.0 * 1024.0;
  }

  private static List<WorkerView> workers(SchedulerLoop loop) {
    try {
      return loop.query(scheduler -> scheduler.workers())
          .get(WORKERS_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return List.of();
    }
  }

  /** Starts serving /metrics. */
  void serve(InetSocketAddress address) throws IOException {
    http =
        HTTPServer.builder()
            .hostname(address.getHostString())
            .port(address.getPort())
            .registry(registry)
            .buildAndStart();
  }

  /** The port it serves on; for tests that ask for port 0. */
  int port() {
    return http.getPort();
  }

  /** Counts one turn's events; on the loop thread, after they are stored. */
  void stored(List<Event> events, long commitNanos) {
    commits.observe(commitNanos / 1e9);
    for (Event event : events) {
      switch (event) {
        case Event.JobQueued queued -> submitted.inc();
        case Event.JobStarted start -> started.inc();
        case Event.JobEnded end -> (end.outcome().succeeded() ? succeeded : failed).inc();
        case Event.JobCanceled cancel -> canceled.inc();
        case Event.JobFailed givenUp -> failed.inc();
        case Event.JobTimedOut stopped -> timedOut.inc();
        case Event.JobRequeued again -> requeued.inc();
        default -> {}
      }
    }
  }

  /** One turn that had work took this long; on the loop thread. */
  void turned(long nanos) {
    turns.observe(nanos / 1e9);
  }

  /**
   * A registry that logs why a scrape failed: the exporter answers 500 and logs nothing. Each
   * distinct failure is logged once, not at every scrape (Prometheus asks every few seconds).
   */
  static final class ScrapeErrorLogging extends PrometheusRegistry {
    private static final Logger log = LoggerFactory.getLogger(ServerMetrics.class);
    private final AtomicReference<String> lastLogged = new AtomicReference<>();

    @Override
    public MetricSnapshots scrape(PrometheusScrapeRequest request) {
      try {
        return super.scrape(request);
      } catch (RuntimeException e) {
        logOnce(e);
        throw e;
      }
    }

    @Override
    public MetricSnapshots scrape(
        Predicate<String> includedNames, PrometheusScrapeRequest request) {
      try {
        return super.scrape(includedNames, request);
      } catch (RuntimeException e) {
        logOnce(e);
        throw e;
      }
    }

    private void logOnce(RuntimeException e) {
      String failure = String.valueOf(e);
      if (!failure.equals(lastLogged.getAndSet(failure))) {
        log.error("scraping the metrics failed; /metrics answers 500 until this is fixed", e);
      }
    }
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
  }
}
