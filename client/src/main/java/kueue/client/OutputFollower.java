package kueue.client;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.JobEvent;
import kueue.model.JobSummary;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import kueue.protocol.Message;

/**
 * Prints the output of jobs as the server gives it ({@code kueue log}, {@code cmd --follow}): asks
 * from where the last answer left off, so that after a lost connection or a server restart it goes
 * on from the last byte it printed, repeating nothing and losing nothing that is still kept.
 */
final class OutputFollower {
  /** How a reply to a followed read is waited for before the connection counts as dead. */
  private static final Duration FOLLOW_RECEIVE_TIMEOUT =
      Duration.ofMillis(Message.FOLLOW_WAIT_MILLIS).plusSeconds(30);

  /** How long a lost server is tried again before following gives up. */
  static final Duration RECONNECT_FOR = Duration.ofMinutes(5);

  /** Where the streams go. */
  enum Layout {
    /** stdout to stdout, stderr to stderr, as the job wrote them. */
    SPLIT,
    /** Both to stdout, each line of stderr marked. */
    MARKED
  }

  /** Opens a connection to the server (again, after one was lost). */
  interface Connector {
    KueueClient connect() throws Exception;
  }

  private static final class Followed {
    final long jobId;
    final String prefix;
    Integer attempt;
    int shownAttempt;
    long stdoutNext;
    long stderrNext;
    boolean done;
    JobSummary job;
    final StringBuilder[] partialLines = {new StringBuilder(), new StringBuilder()};

    Followed(long jobId, Integer attempt, String prefix) {
      this.jobId = jobId;
      this.attempt = attempt;
      this.prefix = prefix;
    }
  }

  private final PrintWriter out;
  private final PrintWriter err;
  private final Layout layout;
  private final boolean stdout;
  private final boolean stderr;
  private final Map<Long, Followed> jobs = new LinkedHashMap<>();
  private final boolean linewise;

  /** Says why a followed job still waits, each time that changes. */
  private final WaitJobCommand.ReasonPrinter reasons;

  /**
   * @param stdout whether stdout is wanted
   * @param stderr whether stderr is wanted
   * @param prefixed whether each line is prefixed with its job's index (a batch)
   */
  OutputFollower(
      PrintWriter out,
      PrintWriter err,
      Layout layout,
      boolean stdout,
      boolean stderr,
      boolean prefixed) {
    this.out = out;
    this.err = err;
    this.layout = layout;
    this.stdout = stdout;
    this.stderr = stderr;
    this.linewise = prefixed || (layout == Layout.MARKED && stdout && stderr);
    this.reasons = new WaitJobCommand.ReasonPrinter(err);
  }

  private boolean oneAttempt;

  /** Each job's first attempt read is the only one: the attempts after it are left out. */
  void oneAttemptOnly() {
    oneAttempt = true;
  }

  /** Follows the job; attempt null means its current one. prefix is put before every line. */
  void add(long jobId, Integer attempt, String prefix) {
    jobs.put(jobId, new Followed(jobId, attempt, prefix == null ? "" : prefix));
  }

  /** The jobs as last seen, in the order added. */
  List<JobSummary> lastSeen() {
    List<JobSummary> seen = new ArrayList<>();
    for (Followed followed : jobs.values()) {
      if (followed.job != null) {
        seen.add(followed.job);
      }
    }
    return seen;
  }

  /** Answers {@link #printOnce} asks for at most: a job printing fast has always more. */
  private static final int MAX_READS_AT_ONCE = 16;

  /** Prints what there is now, once (in a few answers if it is more than one holds). */
  void printOnce(KueueClient client) throws CliException {
    for (int reads = 0; reads < MAX_READS_AT_ONCE; reads++) {
      List<OutputCursor> cursors = cursors();
      if (cursors.isEmpty()) {
        break;
      }
      Message.OutputRead read =
          client.request(new Message.ReadOutput(cursors, false), Message.OutputRead.class);
      read.parts().forEach(this::print);
      if (read.parts().stream().allMatch(part -> part.pieces().isEmpty())) {
        break;
      }
    }
    for (Followed followed : jobs.values()) {
      flushPartialLines(followed);
    }
    out.flush();
    err.flush();
  }

  /**
   * Prints everything as it comes until every job has ended. Returns the connection in use at the
   * end (a new one after the server was lost), which the caller closes.
   */
  KueueClient follow(KueueClient client, Connector connector) throws CliException {
    KueueClient current = client;
    current.receiveTimeout(FOLLOW_RECEIVE_TIMEOUT);
    try {
      while (jobs.values().stream().anyMatch(followed -> !followed.done)) {
        if (Thread.currentThread().isInterrupted()) {
          // The CLI daemon's relay went away (Ctrl-C): following ends, the job goes on.
          throw new CliException(ExitCodes.JOB_CANCELED, "stopped following");
        }
        Message.OutputRead read;
        try {
          read =
              current.request(
                  new Message.ReadOutput(cursors(), true, true), Message.OutputRead.class, reasons);
        } catch (CliException e) {
          if (e.exitCode() != ExitCodes.SERVER_UNREACHABLE) {
            throw e;
          }
          current.close();
          current = reconnect(connector, e);
          current.receiveTimeout(FOLLOW_RECEIVE_TIMEOUT);
          continue;
        }
        read.parts().forEach(this::print);
        out.flush();
        err.flush();
      }
      return current;
    } finally {
      current.receiveTimeout(Duration.ZERO);
    }
  }

  private KueueClient reconnect(Connector connector, CliException lost) throws CliException {
    err.println("kueue: " + lost.getMessage() + "; trying again");
    err.flush();
    long giveUpAt = System.nanoTime() + RECONNECT_FOR.toNanos();
    long delayMillis = 200;
    while (true) {
      try {
        Thread.sleep(delayMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw lost;
      }
      try {
        KueueClient client = connector.connect();
        err.println("kueue: connected again, following on");
        err.flush();
        return client;
      } catch (CliException e) {
        if (e.exitCode() != ExitCodes.SERVER_UNREACHABLE || System.nanoTime() > giveUpAt) {
          throw e;
        }
      } catch (Exception e) {
        throw new CliException(ExitCodes.UNEXPECTED, e.getMessage(), e);
      }
      delayMillis = Math.min(delayMillis * 2, 2000);
    }
  }

  private List<OutputCursor> cursors() {
    List<OutputCursor> cursors = new ArrayList<>();
    for (Followed followed : jobs.values()) {
      if (followed.done) {
        continue;
      }
      if (cursors.size() == Message.MAX_OUTPUT_CURSORS) {
        break; // the rest once some of these have ended
      }
      cursors.add(
          new OutputCursor(
              followed.jobId,
              followed.attempt,
              stdout ? followed.stdoutNext : null,
              stderr ? followed.stderrNext : null));
    }
    return cursors;
  }

  /** Prints one part of an answer; package-private for tests. */
  void print(OutputPart part) {
    Followed followed = jobs.get(part.jobId());
    if (followed == null) {
      return;
    }
    if (part.job() != null) {
      followed.job = part.job();
    }
    if (part.attempt() > 0 && (followed.attempt == null || followed.attempt == part.attempt())) {
      followed.attempt = part.attempt();
      // An attempt that has not printed anything yet gets its header with its first output, or
      // once it ended: a next attempt still to come has none.
      if (followed.shownAttempt != part.attempt()
          && (!part.pieces().isEmpty() || part.complete())) {
        if (part.attempt() > 1
            || followed.shownAttempt > 0
            || (part.job() != null && part.job().attempt() > 1)) {
          note(followed, attemptHeader(part));
        }
        followed.shownAttempt = part.attempt();
      }
    }
    for (OutputPiece piece : part.pieces()) {
      boolean isStdout = OutputPiece.STDOUT.equals(piece.stream());
      long expected = isStdout ? followed.stdoutNext : followed.stderrNext;
      long next = piece.offset() + piece.text().getBytes(StandardCharsets.UTF_8).length;
      if (isStdout) {
        followed.stdoutNext = next;
      } else {
        followed.stderrNext = next;
      }
      if (piece.offset() > expected) {
        note(
            followed,
            (piece.offset() - expected)
                + " bytes of "
                + piece.stream()
                + " skipped (no longer kept, or written faster than shown)");
      }
      write(followed, isStdout ? 0 : 1, piece.text());
    }
    followed.stdoutNext = part.stdoutNext();
    followed.stderrNext = part.stderrNext();
    if (part.complete()) {
      flushPartialLines(followed);
      JobSummary job = part.job();
      if (job == null
          || (job.state().isTerminal() && part.attempt() >= job.attempt())
          || oneAttempt) {
        followed.done = true;
      } else {
        // A next attempt follows (or has run already: its output is kept too); it starts from its
        // first byte.
        followed.attempt = part.attempt() + 1;
        followed.stdoutNext = 0;
        followed.stderrNext = 0;
      }
    }
  }

  /** How earlier attempts ended, by attempt ("exit 1"), for their section headers. */
  private final Map<Integer, String> earlierEndings = new HashMap<>();

  /**
   * Where and how earlier attempts ended, from the job's history (the lines of its current attempt
   * are in its summary), so that their section headers can say it.
   */
  void knowHistory(List<JobEvent> history) {
    for (JobEvent event : history) {
      if ("ended".equals(event.what())) {
        String detail = event.detail() == null ? "" : event.detail();
        int cut = detail.indexOf(';');
        String ending = cut < 0 ? detail : detail.substring(0, cut);
        String worker = event.worker() == null ? "" : "on " + event.worker();
        String joined =
            worker.isEmpty() || ending.isEmpty() ? worker + ending : worker + ", " + ending;
        earlierEndings.put(event.attempt(), joined);
      }
    }
  }

  /**
   * "attempt 2 on vm1, exit 1": the header of an attempt's section, with its worker and how it
   * ended as far as known.
   */
  private String attemptHeader(OutputPart part) {
    JobSummary job = part.job();
    String where = earlierEndings.get(part.attempt());
    if (where == null && job != null && job.attempt() == part.attempt()) {
      where = job.worker() == null ? "" : "on " + job.worker();
      String ending = job.state().isTerminal() ? ending(job) : null;
      if (ending != null) {
        where = where.isEmpty() ? ending : where + ", " + ending;
      }
    }
    return "attempt " + part.attempt() + (where == null || where.isEmpty() ? "" : " " + where);
  }

  private static String ending(JobSummary job) {
    if (job.signal() != null) {
      return "signal " + job.signal();
    }
    if (job.exitCode() != null) {
      return "exit " + job.exitCode();
    }
    return job.state().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
  }

  /** A line of kueue's own among the output, where the output goes. */
  private void note(Followed followed, String text) {
    flushPartialLines(followed);
    PrintWriter target = target(layout == Layout.MARKED ? out : err);
    target.print(followed.prefix + "[kueue: " + text + "]\n");
  }

  /** The writer printed to last, flushed before the other one is used so that order is kept. */
  private PrintWriter lastTarget;

  private PrintWriter target(PrintWriter target) {
    if (lastTarget != null && lastTarget != target) {
      lastTarget.flush();
    }
    lastTarget = target;
    return target;
  }

  private void write(Followed followed, int stream, String text) {
    PrintWriter target = target(stream == 0 || layout == Layout.MARKED ? out : err);
    if (!linewise) {
      target.print(text);
      return;
    }
    // Whole lines only, so that lines of different jobs or streams never mix within a line.
    StringBuilder partial = followed.partialLines[stream];
    int start = 0;
    while (true) {
      int newline = text.indexOf('\n', start);
      if (newline < 0) {
        partial.append(text, start, text.length());
        return;
      }
      target.print(linePrefix(followed, stream));
      target.print(partial);
      target.print(text.substring(start, newline + 1));
      partial.setLength(0);
      start = newline + 1;
    }
  }

  private String linePrefix(Followed followed, int stream) {
    return stream == 1 && marksStderr() ? followed.prefix + "[stderr] " : followed.prefix;
  }

  /** Lines of stderr among those of stdout are marked; stderr alone needs no mark. */
  private boolean marksStderr() {
    return layout == Layout.MARKED && stdout && stderr;
  }

  private void flushPartialLines(Followed followed) {
    for (int stream = 0; stream < 2; stream++) {
      StringBuilder partial = followed.partialLines[stream];
      if (!partial.isEmpty()) {
        PrintWriter target = target(stream == 0 || layout == Layout.MARKED ? out : err);
        target.print(linePrefix(followed, stream));
        target.print(partial);
        target.print('\n');
        partial.setLength(0);
      }
    }
  }
}
