package kueue.worker;

import java.io.IOException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the server's output requests from a running attempt's {@link LiveOutput}: at once when
 * there is something past the offsets, else when the job writes or ends, or when the request's wait
 * is over. The job's reading threads only hand a wake-up on: reading, encoding and sending happen
 * here, so a follower on a slow network never slows down the job.
 */
final class OutputAnswers {
  private static final Logger log = LoggerFactory.getLogger(OutputAnswers.class);

  /** Files written with -o announce nothing: they are looked at this often while someone waits. */
  private static final long FILE_POLL_MILLIS = 100;

  /** The most bytes one answer carries, whatever the server asks for. */
  static final int MAX_ANSWER_BYTES = 1 << 20;

  /** Requests waiting at once; beyond that, requests are answered at once with what there is. */
  static final int MAX_WAITING = 4096;

  private final ExecutorService answering = Executors.newVirtualThreadPerTaskExecutor();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          task -> Thread.ofPlatform().daemon().name("output-timer").unstarted(task));
  private final AtomicInteger waiting = new AtomicInteger();

  /** Answers the request from output, on the connection it came on. */
  void answer(PeerConnection connection, Message.OutputRequest request, LiveOutput output) {
    Answer answer = new Answer(connection, request, output);
    answering.execute(answer::check);
  }

  void close() {
    timer.shutdownNow();
    answering.shutdownNow();
  }

  private final class Answer implements LiveOutput.Waiter {
    private final PeerConnection connection;
    private final Message.OutputRequest request;
    private final LiveOutput output;
    private final long deadline;
    private final AtomicBoolean answered = new AtomicBoolean();
    private boolean counted;

    Answer(PeerConnection connection, Message.OutputRequest request, LiveOutput output) {
      this.connection = connection;
      this.request = request;
      this.output = output;
      long wait = Math.clamp(request.waitMillis(), 0, Message.FOLLOW_WAIT_MILLIS);
      this.deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
    }

    @Override
    public void wake() {
      try {
        answering.execute(this::check);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // the worker stops
      }
    }

    @Override
    public boolean gone() {
      return answered.get();
    }

    /** Answers if there is something to give or the wait is over, else waits on. */
    synchronized void check() {
      if (answered.get()) {
        return;
      }
      int maxBytes = Math.clamp(request.maxBytes(), 1, MAX_ANSWER_BYTES);
      long now = System.nanoTime();
      // A request that does not wait (kueue log) takes what there is: it is asked once, not in a
      // loop as fast as answers come.
      int allowed = request.waitMillis() <= 0 ? maxBytes : output.allowance(now, maxBytes);
      if (allowed == 0 && now < deadline) {
        // The attempt's followers had their share of this window.
        schedule(TimeUnit.NANOSECONDS.toMillis(Math.max(0, output.nextWindow() - now)) + 1);
        return;
      }
      LiveOutput.Read read =
          output.read(request.stdoutFrom(), request.stderrFrom(), Math.max(1, allowed));
      long left = deadline - System.nanoTime();
      boolean full = !counted && waiting.get() >= MAX_WAITING;
      if (!read.pieces().isEmpty() || read.ended() || left <= 0 || full) {
        send(read);
        return;
      }
      if (!counted) {
        counted = true;
        waiting.incrementAndGet();
      }
      long recheck = TimeUnit.NANOSECONDS.toMillis(left) + 1;
      // Nothing new is announced for files, nor for a character whose last bytes are still to
      // come (there is something past the offsets, but nothing to give yet).
      if (output.hasFiles() || !output.awaitNew(request.stdoutFrom(), request.stderrFrom(), this)) {
        recheck = Math.min(recheck, FILE_POLL_MILLIS);
      }
      schedule(recheck);
    }

    private void schedule(long millis) {
      try {
        timer.schedule(this::wake, millis, TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // the worker stops: nobody is answered any more
      }
    }

    private void send(LiveOutput.Read read) {
      if (!answered.compareAndSet(false, true)) {
        return;
      }
      if (counted) {
        waiting.decrementAndGet();
      }
      long bytes = 0;
      for (var piece : read.pieces()) {
        bytes += piece.text().length();
      }
      output.given(bytes);
      try {
        connection.send(
            new Message.Output(
                request.requestId(),
                request.jobId(),
                request.attempt(),
                true,
                read.ended(),
                read.pieces(),
                read.stdoutNext(),
                read.stderrNext()));
      } catch (IOException e) {
        // The reader finds the connection closed; the server asks again after reconnecting.
        log.debug("cannot send output of job {}: {}", request.jobId(), e.getMessage());
      }
    }
  }
}
