package kueue.client;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import kueue.model.JobState;
import kueue.model.JobSummary;

/** How a job's state, times and ending read in the human output. */
final class JobFormat {
  private static final int MAX_REASON_IN_STATUS = 24;
  private static final Map<Integer, String> SIGNAL_NAMES =
      Map.ofEntries(
          Map.entry(1, "SIGHUP"),
          Map.entry(2, "SIGINT"),
          Map.entry(3, "SIGQUIT"),
          Map.entry(4, "SIGILL"),
          Map.entry(6, "SIGABRT"),
          Map.entry(7, "SIGBUS"),
          Map.entry(8, "SIGFPE"),
          Map.entry(9, "SIGKILL"),
          Map.entry(11, "SIGSEGV"),
          Map.entry(13, "SIGPIPE"),
          Map.entry(14, "SIGALRM"),
          Map.entry(15, "SIGTERM"),
          Map.entry(24, "SIGXCPU"),
          Map.entry(25, "SIGXFSZ"));
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  private JobFormat() {}

  /**
   * The worker a job is on, or "-": a job that waits is on none, whichever one it was last offered
   * to (its history says).
   */
  static String worker(JobSummary job) {
    return job.worker() == null || waits(job) ? "-" : job.worker();
  }

  /** Pending, held or waiting for its dependencies: neither on a worker nor ended. */
  static boolean waits(JobSummary job) {
    return !job.state().isTerminal() && !job.state().isOnWorker();
  }

  /**
   * pending, held, waiting (for dependencies), offered, running, finished (0), failed (exit 3 /
   * SIGKILL / reason), canceled, timed out.
   */
  static String status(JobSummary job) {
    return switch (job.state()) {
      case PENDING -> declinedByAll(job) ? "pending (declined by all)" : "pending";
      case HELD -> "held";
      case WAITING -> "waiting";
      case OFFERED -> "offered";
      case RUNNING -> "running";
      case CANCELED -> "canceled";
      case TIMED_OUT -> "timed out";
      case FINISHED -> job.succeeded() ? "finished (0)" : "failed (" + failureShort(job) + ")";
    };
  }

  static Style style(JobSummary job) {
    return switch (job.state()) {
      case PENDING -> Style.PLAIN;
      case HELD -> Style.GREY;
      case WAITING -> Style.PLAIN;
      case OFFERED -> Style.YELLOW;
      case RUNNING -> Style.BLUE;
      case CANCELED -> Style.GREY;
      case TIMED_OUT -> Style.RED;
      case FINISHED -> job.succeeded() ? Style.GREEN : Style.RED;
    };
  }

  /** How the server's reason begins for a job that every connected worker declined for good. */
  static final String DECLINED_BY_ALL = "declined by every connected worker";

  /** Whether no connected worker will ever take the pending job, as the server explained. */
  static boolean declinedByAll(JobSummary job) {
    return job.note() != null && job.note().startsWith(DECLINED_BY_ALL);
  }

  private static String failureShort(JobSummary job) {
    if (job.exitCode() != null) {
      return "exit " + job.exitCode();
    }
    if (job.signal() != null) {
      return signalName(job.signal());
    }
    if (job.note() != null && !job.note().isBlank()) {
      return TextTable.clip(job.note().strip(), MAX_REASON_IN_STATUS, TextTable.Clip.BACK);
    }
    return "not started";
  }

  static String signalName(int signal) {
    return SIGNAL_NAMES.getOrDefault(signal, "signal " + signal);
  }

  /** How long the job ran (or runs so far); "-" when it never started. */
  static String runtime(JobSummary job, Instant now) {
    if (job.started() == null) {
      return "-";
    }
    Instant end = job.ended() != null ? job.ended() : now;
    if (job.ended() == null && job.state().isTerminal()) {
      return "-";
    }
    return Durations.compact(Duration.between(job.started(), end));
  }

  static String time(Instant instant) {
    return instant == null ? "-" : TIME.format(instant);
  }

  static String timeAndAge(Instant instant, Instant now) {
    if (instant == null) {
      return "-";
    }
    Duration age = Duration.between(instant, now);
    return age.isNegative()
        ? time(instant)
        : time(instant) + " (" + Durations.compact(age) + " ago)";
  }

  /** The exit code of {@code kueue cmd --wait} and {@code wait-job} for one ended job. */
  static int exitCode(JobSummary job) {
    if (job.state() == JobState.CANCELED) {
      return ExitCodes.JOB_CANCELED;
    }
    if (job.state() == JobState.TIMED_OUT) {
      return ExitCodes.JOB_TIMED_OUT;
    }
    if (job.state() != JobState.FINISHED) {
      return ExitCodes.UNEXPECTED;
    }
    if (job.exitCode() != null) {
      return job.exitCode();
    }
    if (job.signal() != null) {
      return 128 + job.signal();
    }
    return ExitCodes.JOB_NOT_STARTED;
  }

  /** One sentence for stderr, e.g. "job 12 failed: command not found: foo". */
  static String ending(JobSummary job) {
    String name = "job " + job.id();
    String note = job.note() == null || job.note().isBlank() ? null : job.note().strip();
    return switch (job.state()) {
      case CANCELED -> name + " was canceled" + (note == null ? "" : ": " + note);
      case TIMED_OUT ->
          name
              + " timed out: "
              + (note == null ? "stopped at its time limit" : note)
              + (job.signal() == null ? "" : " (" + signalName(job.signal()) + ")");
      case FINISHED -> {
        if (job.succeeded()) {
          yield name + " finished with exit code 0";
        }
        if (job.exitCode() != null) {
          yield name + " failed with exit code " + job.exitCode();
        }
        if (job.signal() != null) {
          yield name
              + " was killed by "
              + signalName(job.signal())
              + " (signal "
              + job.signal()
              + ")";
        }
        yield name + " failed: " + (note == null ? "it could not be started" : note);
      }
      default -> name + " has not ended (" + status(job) + ")";
    };
  }
}
