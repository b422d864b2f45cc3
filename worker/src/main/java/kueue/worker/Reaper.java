package kueue.worker;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills the worker's jobs when the worker dies without doing so itself, even by SIGKILL. A small
 * shell process reads the process groups of running jobs from a pipe ("+PGID" when one starts,
 * "-PGID" when it ends). When the worker dies for whatever reason the kernel closes the pipe; the
 * shell then sends TERM, and KILL after the grace period, to every group still listed. Without it
 * the jobs of a killed worker would run on while the server, which sees the worker gone, runs them
 * again elsewhere.
 *
 * <p>The shell ignores SIGINT, SIGTERM and SIGHUP, so that a Ctrl-C in the worker's terminal (sent
 * to the whole foreground process group) leaves it to clean up after the worker.
 */
final class Reaper implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Reaper.class);
  private static final String SHELL = "/bin/sh";

  // $1 is the grace period in seconds (may be fractional). The list of groups is kept as
  // " 12 34 56 " so that one group can be cut out with two pattern expansions.
  private static final String SCRIPT =
      """
      trap '' INT TERM HUP
      grace=$1
      groups=' '
      while IFS= read -r line; do
        case "$line" in
          +[0-9]*) groups="$groups${line#+} " ;;
          -[0-9]*)
            group=${line#-}
            case "$groups" in
              *" $group "*) groups="${groups%% $group *} ${groups#* $group }" ;;
            esac ;;
        esac
      done
      set -- $groups
      [ $# -eq 0 ] && exit 0
      for group; do kill -TERM "-$group" 2>/dev/null; done
      sleep "$grace" 2>/dev/null || sleep 1
      for group; do kill -KILL "-$group" 2>/dev/null; done
      exit 0
      """;

  /**
   * How long the end of a job may wait to be told to the shell. Every line wakes the shell, which
   * then reads it a byte at a time: on a busy machine that costs the jobs about as much CPU as the
   * worker spends on them otherwise. An end waits for the next start (both go in one write), or at
   * most this long. Until then the shell would still signal the ended job's group if the worker
   * died; its leader is reaped, and its id is reused only after the system has handed out every
   * other process id, which takes far longer than this.
   */
  static final Duration UNTRACK_DELAY = Duration.ofMillis(50);

  private final String grace;
  private final Set<Long> groups = new LinkedHashSet<>();
  private final StringBuilder pendingEnds = new StringBuilder();

  /**
   * A flush of pendingEnds is due within {@link #UNTRACK_DELAY}. One at a time: jobs end and start
   * in pairs, so scheduling one per end woke two threads of the common pool for almost every job
   * only to find the end told already.
   */
  private boolean flushScheduled;

  private Process process;
  private OutputStream pipe;
  private boolean closed;

  private Reaper(Duration grace) {
    this.grace = String.format(java.util.Locale.ROOT, "%.3f", grace.toMillis() / 1000.0);
  }

  /** Starts the reaper process; without a shell on this machine, a reaper that does nothing. */
  static Reaper start(Duration grace) {
    Reaper reaper = new Reaper(grace);
    synchronized (reaper) {
      reaper.spawn();
    }
    return reaper;
  }

  /** Process id of the shell, -1 when there is none. */
  synchronized long pid() {
    return process == null ? -1 : process.pid();
  }

  /** A job now runs in this process group. */
  synchronized void track(long processGroup) {
    if (processGroup <= 1 || closed || !groups.add(processGroup)) {
      return;
    }
    pendingEnds.append('+').append(processGroup).append('\n');
    write(pendingEnds.toString());
    pendingEnds.setLength(0);
  }

  /**
   * The job of this process group ended: its id may be reused by someone else once the system has
   * gone through every other process id. Told to the shell with the next start, or after {@link
   * #UNTRACK_DELAY}.
   */
  synchronized void untrack(long processGroup) {
    if (!groups.remove(processGroup) || closed) {
      return;
    }
    if (!flushScheduled) {
      flushScheduled = true;
      CompletableFuture.delayedExecutor(UNTRACK_DELAY.toMillis(), TimeUnit.MILLISECONDS)
          .execute(this::flushEnds);
    }
    pendingEnds.append('-').append(processGroup).append('\n');
  }

  private synchronized void flushEnds() {
    flushScheduled = false;
    if (!pendingEnds.isEmpty() && !closed) {
      write(pendingEnds.toString());
    }
    pendingEnds.setLength(0);
  }

  /** True while ended groups wait to be told to the shell. */
  synchronized boolean hasPendingEnds() {
    return !pendingEnds.isEmpty();
  }

  /** Closes the pipe the way the worker's death does: ends not yet told are lost. */
  synchronized void closeAsIfKilled() {
    pendingEnds.setLength(0);
    close();
  }

  synchronized Set<Long> tracked() {
    return Set.copyOf(groups);
  }

  /**
   * Closes the pipe as dying would: groups still listed are killed. On a clean stop there are none
   * left, and the shell just exits.
   */
  @Override
  public synchronized void close() {
    if (!closed && !pendingEnds.isEmpty()) {
      write(pendingEnds.toString());
      pendingEnds.setLength(0);
    }
    closed = true;
    if (pipe != null) {
      try {
        pipe.close();
      } catch (IOException ignored) {
        // the shell is gone already
      }
    }
  }

  private void write(String line) {
    if (process == null) {
      return;
    }
    if (!process.isAlive()) {
      // Someone killed the reaper: a new one takes over every group still running.
      log.warn("the reaper process is gone; starting a new one");
      spawn();
      return;
    }
    try {
      pipe.write(line.getBytes(StandardCharsets.US_ASCII));
      pipe.flush();
    } catch (IOException e) {
      log.warn("the reaper process is gone ({}); starting a new one", e.getMessage());
      spawn();
    }
  }

  private void spawn() {
    // A new shell learns the groups still running from the set; ends not yet told are moot.
    pendingEnds.setLength(0);
    if (!Files.isExecutable(Path.of(SHELL))) {
      log.warn("{} not found: jobs of a worker that is killed may keep running", SHELL);
      return;
    }
    try {
      process =
          new ProcessBuilder(SHELL, "-c", SCRIPT, "kueue-reaper", grace)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      pipe = process.getOutputStream();
      StringBuilder all = new StringBuilder();
      groups.forEach(group -> all.append('+').append(group).append('\n'));
      if (!all.isEmpty()) {
        pipe.write(all.toString().getBytes(StandardCharsets.US_ASCII));
        pipe.flush();
      }
    } catch (IOException e) {
      log.warn(
          "cannot start the reaper process: {}; jobs of a worker that is killed may keep"
              + " running",
          e.getMessage());
      process = null;
      pipe = null;
    }
  }
}
