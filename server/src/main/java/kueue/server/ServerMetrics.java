package kueue.server;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import kueue.core.Event;
import kueue.core.WorkerView;
import kueue.model.JobStats;
import kueue.store.JobStore;

/**
 * The server's Prometheus metrics ({@code [server] metrics_address}), with the Prometheus Java
 * client. The loop thread only adds to counters and histograms (a few striped additions per turn);
 * counts by state and the workers' resources are read when Prometheus asks, from the store's
 * counters and by one query on the loop.
 */
final class ServerMetrics implements AutoCloseable {
  /** How long a scrape waits for the loop's answer about the workers before it leaves them out. */
  private static final long WORKERS_WAIT_MILLIS = 2000;

  private final PrometheusRegistry registry = new PrometheusRegistry();
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
          .help("Jobs that ended, by outcome: succeeded (exit 0), failed, canceled.")
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
  private HTTPServer http;

  ServerMetrics(JobStore store, SchedulerLoop loop, Clock clock) {
    GaugeWithCallback.builder()
        .name("kueue_jobs")
        .help("Stored jobs by state (succeeded and failed are finished jobs by exit code).")
        .labelNames("state")
        .callback(
            callback -> {
              JobStats stats = store.stats(clock.instant());
              callback.call(stats.pending(), "pending");
              callback.call(stats.offered(), "offered");
              callback.call(stats.running(), "running");
              callback.call(stats.succeeded(), "succeeded");
              callback.call(stats.failed(), "failed");
              callback.call(stats.canceled(), "canceled");
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
        .labelNames("worker", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                callback.call(worker.capacity().total().cpus(), worker.name(), "total");
                callback.call(worker.reserved().cpus(), worker.name(), "used");
                callback.call(worker.free().cpus(), worker.name(), "free");
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_worker_ram_bytes")
        .help("RAM of each worker: total, reserved by Kueue's jobs, free for placement.")
        .labelNames("worker", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                callback.call(mb(worker.capacity().total().ramMb()), worker.name(), "total");
                callback.call(mb(worker.reserved().ramMb()), worker.name(), "used");
                callback.call(mb(worker.free().ramMb()), worker.name(), "free");
              }
            })
        .register(registry);
    GaugeWithCallback.builder()
        .name("kueue_worker_slots")
        .help("Job slots of each worker: total, taken, free.")
        .labelNames("worker", "kind")
        .callback(
            callback -> {
              for (WorkerView worker : workers(loop)) {
                callback.call(worker.capacity().total().slots(), worker.name(), "total");
                callback.call(worker.reserved().slots(), worker.name(), "used");
                callback.call(worker.free().slots(), worker.name(), "free");
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
        case Event.JobRequeued again -> requeued.inc();
        default -> {}
      }
    }
  }

  /** One turn that had work took this long; on the loop thread. */
  void turned(long nanos) {
    turns.observe(nanos / 1e9);
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
  }
}
