package kueue.store;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.core.Event;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;

/** Specs and events for store tests, at whole milliseconds (the stored precision). */
final class Jobs {

  static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
  static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "HOME", "/home/ada");

  private Jobs() {}

  static Instant at(double seconds) {
    return T0.plusMillis(Math.round(seconds * 1000));
  }

  static JobSpec aSpec() {
    return JobSpecBuilder.builder()
        .argv(List.of("./run.sh", "--seed", "1"))
        .cwd("/home/ada/exp")
        .env(ENV)
        .slots(1)
        .cpus(2)
        .ramMb(1024)
        .globalResources(Map.of())
        .build();
  }

  static JobSpec aSpecWith(List<String> argv) {
    return JobSpecBuilder.builder()
        .argv(argv)
        .cwd("/home/ada/exp")
        .env(ENV)
        .slots(1)
        .cpus(2)
        .ramMb(1024)
        .globalResources(Map.of())
        .build();
  }

  static Event.JobQueued queued(long id, double atSeconds) {
    return new Event.JobQueued(id, aSpec(), at(atSeconds));
  }

  static Event.JobOffered offered(long id, int attempt, String worker, double atSeconds) {
    return new Event.JobOffered(id, attempt, 7, worker, at(atSeconds));
  }

  static Event.JobStarted started(long id, int attempt, double atSeconds) {
    return new Event.JobStarted(id, attempt, at(atSeconds));
  }

  static Event.JobEnded exited(
      long id, int attempt, int exitCode, double startSeconds, double endSeconds) {
    return new Event.JobEnded(
        id,
        attempt,
        new JobOutcome(exitCode, null, null, at(startSeconds), at(endSeconds)),
        CapturedOutput.EMPTY,
        CapturedOutput.EMPTY,
        at(endSeconds));
  }

  /** Queued, offered to worker "w1", started at start and exited with exitCode at end. */
  static List<Event> ranToCompletion(long id, int exitCode, double start, double end) {
    return List.of(
        queued(id, start),
        offered(id, 1, "w1", start),
        started(id, 1, start),
        exited(id, 1, exitCode, start, end));
  }
}
