package kueue.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import kueue.client.CliException;
import kueue.config.ConfigException;
import kueue.model.JobFilter;
import kueue.protocol.Message;

/**
 * Asks the Kueue server about the fleet at a fixed, modest rate (the workers and the running jobs
 * every period, the newest batches as often as their cost allows; however many pages are open) and
 * hands every changed view to the pages' event streams.
 */
final class FleetMonitor implements AutoCloseable {
  static final Duration PERIOD = Duration.ofSeconds(1);

  /** Running jobs shown per poll; more than any fleet's slots. */
  private static final int RUNNING_LIMIT = 1000;

  private static final int BATCHES_SHOWN = 10;

  /**
   * The server counts a batch over all its jobs, so a batch of 100,000 takes it a quarter of a
   * second: batches are asked for again only after ten times as long as the last answer took (at
   * least one period), which keeps the dashboard's share of the server's time under a tenth.
   */
  private static final int BATCH_PAUSE_FACTOR = 10;

  private final ServerLink link;
  private final Clock clock;
  private final ObjectMapper mapper;
  private final FleetTracker tracker = new FleetTracker();
  private final List<Consumer<String>> subscribers = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "dashboard-poll");
            thread.setDaemon(true);
            return thread;
          });
  private volatile FleetView last;
  private volatile String lastJson;
  private byte[] lastCompared = new byte[0];
  private List<kueue.model.BatchSummary> batches = List.of();
  private long batchesAskedAt;
  private long batchesPauseNanos;
  private boolean historySeeded;

  FleetMonitor(ServerLink link, Clock clock, ObjectMapper mapper) {
    this.link = link;
    this.clock = clock;
    this.mapper = mapper;
  }

  void start() {
    timer.scheduleWithFixedDelay(this::poll, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The latest view as JSON, or null before the first poll finished. */
  String latest() {
    return lastJson;
  }

  /** Called with every changed view's JSON (on the poll thread; it must not block long). */
  void subscribe(Consumer<String> subscriber) {
    subscribers.add(subscriber);
  }

  void unsubscribe(Consumer<String> subscriber) {
    subscribers.remove(subscriber);
  }

  int subscribers() {
    return subscribers.size();
  }

  private void poll() {
    FleetView view;
    try {
      if (!historySeeded) {
        seedHistory();
      }
      long now = System.nanoTime();
      if (batchesPauseNanos == 0 || now - batchesAskedAt >= batchesPauseNanos) {
        batches =
            link.request(new Message.ListBatches(BATCHES_SHOWN, List.of()), Message.BatchList.class)
                .batches();
        long took = System.nanoTime() - now;
        batchesAskedAt = now;
        batchesPauseNanos = Math.max(PERIOD.toNanos(), BATCH_PAUSE_FACTOR * took);
      }
      // Asked after the batches, so that no batch looks further on than the counts by state.
      Message.JobList running =
          link.request(
              new Message.ListJobs(RUNNING_LIMIT, List.of(JobFilter.OFFERED, JobFilter.RUNNING)),
              Message.JobList.class);
      Message.WorkerList workers =
          link.request(new Message.ListWorkers(), Message.WorkerList.class);
      view =
          tracker.update(
              clock.instant(), workers.workers(), running.jobs(), batches, running.stats());
    } catch (CliException | ConfigException e) {
      view = tracker.unreachable(clock.instant(), e.getMessage(), last);
    } catch (RuntimeException e) {
      view = tracker.unreachable(clock.instant(), "unexpected: " + e, last);
    }
    publish(view);
  }

  /** Once: the throughput before the dashboard started, if the server can tell. */
  private void seedHistory() {
    historySeeded = true;
    java.time.Instant now = clock.instant();
    try {
      Message.EndedPerMinute ended =
          link.request(
              new Message.CountEnded(now.minus(Duration.ofMinutes(FleetTracker.HISTORY_MINUTES))),
              Message.EndedPerMinute.class);
      tracker.seed(now, ended.minutes(), ended.counts());
    } catch (CliException | ConfigException e) {
      // A server of an older version: the plot starts now.
    }
  }

  private void publish(FleetView view) {
    try {
      // Compared without the time, which changes on every poll.
      byte[] content = mapper.writeValueAsBytes(view.withoutTime());
      last = view;
      lastJson = mapper.writeValueAsString(view);
      if (!Arrays.equals(content, lastCompared)) {
        lastCompared = content;
        for (Consumer<String> subscriber : subscribers) {
          subscriber.accept(lastJson);
        }
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a fleet view that cannot be written as JSON", e);
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
