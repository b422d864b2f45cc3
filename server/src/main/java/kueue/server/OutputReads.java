package kueue.server;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kueue.core.ActiveJobView;
import kueue.model.AttemptOutput;
import kueue.model.CapturedOutput;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import kueue.protocol.Message;

/**
 * Answers read_output for one client connection: the output of a running attempt comes from its
 * worker (asked only now, for this reader), that of an ended one from the store. A followed read
 * waits until one of its jobs has something new; what the server holds for it meanwhile is at most
 * one answer per job, within {@link #MAX_REPLY_BYTES} for all of them together.
 *
 * <p>A follower that asks again from where the last answer left it finds the questions still on
 * their way to workers kept from its previous read, instead of asking every worker again.
 */
final class OutputReads {
  /** The most output bytes one answer carries, for all its jobs together. */
  static final int MAX_REPLY_BYTES = 4 << 20;

  private static final int MIN_PART_BYTES = 16 << 10;
  private static final int MAX_PART_BYTES = 1 << 20;

  /** How long an unfollowed read waits for workers to answer. */
  private static final long UNFOLLOWED_WAIT_MILLIS = 5_000;

  private final ServerContext context;

  /** Reads of the previous request still under way, by the cursor they answer. */
  private Map<OutputCursor, CompletableFuture<OutputPart>> underWay = new HashMap<>();

  OutputReads(ServerContext context) {
    this.context = context;
  }

  /** A cursor names a job that does not exist. */
  static final class UnknownJob extends Exception {
    final long jobId;

    UnknownJob(long jobId) {
      super("job " + jobId + " not found", null, false, false);
      this.jobId = jobId;
    }
  }

  Message.OutputRead read(List<OutputCursor> cursors, boolean follow)
      throws UnknownJob, InterruptedException {
    int n = cursors.size();
    List<Long> ids = cursors.stream().map(OutputCursor::jobId).distinct().toList();
    List<JobSummary> known = context.store().summaries(ids);
    if (known.size() < ids.size()) {
      List<Long> missing = new ArrayList<>(ids);
      missing.removeAll(known.stream().map(JobSummary::id).toList());
      throw new UnknownJob(missing.getFirst());
    }
    int partBytes = Math.clamp(MAX_REPLY_BYTES / Math.max(1, n), MIN_PART_BYTES, MAX_PART_BYTES);
    long deadline =
        System.nanoTime()
            + TimeUnit.MILLISECONDS.toNanos(
                follow ? Message.FOLLOW_WAIT_MILLIS : UNFOLLOWED_WAIT_MILLIS);
    Map<OutputCursor, CompletableFuture<OutputPart>> previous = underWay;
    underWay = new HashMap<>();
    List<CompletableFuture<OutputPart>> reads = new ArrayList<>(n);
    for (OutputCursor cursor : cursors) {
      CompletableFuture<OutputPart> kept = follow ? previous.remove(cursor) : null;
      reads.add(kept != null ? kept : probe(cursor, follow, deadline, partBytes));
    }
    if (!follow) {
      List<OutputPart> parts = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        OutputPart part = await(reads.get(i), deadline);
        parts.add(part != null ? part : quiet(cursors.get(i), null));
      }
      return new Message.OutputRead(parts);
    }
    for (int round = 0; ; round++) {
      if (round > 20) {
        // Something changes again and again without news (a job moving between states): look
        // at it a few times a second rather than as fast as the CPU allows.
        Thread.sleep(20);
      }
      List<OutputPart> news = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        CompletableFuture<OutputPart> read = reads.get(i);
        if (read.isDone()) {
          OutputPart part = read.getNow(null);
          if (part != null && isNew(part, cursors.get(i))) {
            news.add(part);
          }
        }
      }
      long left = deadline - System.nanoTime();
      if (!news.isEmpty() || left <= 0) {
        for (int i = 0; i < n; i++) {
          if (!reads.get(i).isDone()) {
            underWay.put(cursors.get(i), reads.get(i));
          }
        }
        return new Message.OutputRead(news);
      }
      for (int i = 0; i < n; i++) {
        if (reads.get(i).isDone()) {
          reads.set(i, probe(cursors.get(i), true, deadline, partBytes));
        }
      }
      try {
        CompletableFuture.anyOf(reads.toArray(new CompletableFuture<?>[0]))
            .get(left, TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // the time is over, or a read failed: looked at in the next round
      }
    }
  }

  private static OutputPart await(CompletableFuture<OutputPart> read, long deadline)
      throws InterruptedException {
    try {
      return read.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException | ExecutionException e) {
      return null;
    }
  }

  /** Whether the part tells the reader anything it did not know. */
  private static boolean isNew(OutputPart part, OutputCursor cursor) {
    return !part.pieces().isEmpty()
        || part.complete()
        || (cursor.attempt() == null ? part.attempt() > 0 : part.attempt() != cursor.attempt());
  }

  /**
   * What there is for the cursor now, or (following) once there is something; null when the job
   * changed meanwhile and must be looked at again.
   */
  private CompletableFuture<OutputPart> probe(
      OutputCursor cursor, boolean follow, long deadline, int partBytes) {
    JobSummary job = context.store().summary(cursor.jobId()).orElse(null);
    if (job == null) {
      // Removed meanwhile (clean-jobs): nothing more will come.
      return done(part(cursor, cursor.attempt() == null ? 0 : cursor.attempt(), null, true));
    }
    int current = job.attempt();
    int wanted = cursor.attempt() != null ? cursor.attempt() : current;
    if (wanted == 0 || wanted > current) {
      if (job.state().isTerminal()) {
        return done(part(cursor, wanted, job, true)); // canceled before it ran
      }
      return follow ? changeOf(job) : done(part(cursor, wanted, job, false));
    }
    if (wanted < current || job.state().isTerminal() || !job.state().isOnWorker()) {
      // Ended: what is kept of it is in the store (nothing for an attempt lost with its worker,
      // or one older than the kept attempts). A job back in the queue has a next attempt coming.
      return CompletableFuture.completedFuture(stored(cursor, wanted, job, partBytes));
    }
    if (job.state() != JobState.RUNNING) {
      return follow ? changeOf(job) : done(part(cursor, wanted, job, false));
    }
    long waitMillis =
        follow
            ? Math.min(
                Message.FOLLOW_WAIT_MILLIS,
                TimeUnit.NANOSECONDS.toMillis(Math.max(0, deadline - System.nanoTime())))
            : 0;
    return context
        .loop()
        .query(s -> s.activeJob(cursor.jobId()).map(ActiveJobView::workerId).orElse(-1L))
        .thenCompose(
            workerId ->
                context
                    .outputRelay()
                    .ask(
                        workerId,
                        cursor.jobId(),
                        wanted,
                        cursor.stdoutFrom(),
                        cursor.stderrFrom(),
                        waitMillis,
                        partBytes))
        .thenCompose(
            output -> {
              if (output == null || !output.found()) {
                // Not on its worker (ended, its result on the way; or the worker is away).
                return follow ? changeOf(job) : done(part(cursor, wanted, job, false));
              }
              return done(
                  new OutputPart(
                      cursor.jobId(),
                      wanted,
                      job,
                      wellFormed(output.pieces()),
                      cursor.stdoutFrom() == null ? 0 : output.stdoutNext(),
                      cursor.stderrFrom() == null ? 0 : output.stderrNext(),
                      false));
            });
  }

  /** The worker's pieces without malformed ones, which a client could not print. */
  private static List<OutputPiece> wellFormed(List<OutputPiece> pieces) {
    if (pieces == null) {
      return List.of();
    }
    List<OutputPiece> checked = new ArrayList<>(pieces.size());
    for (OutputPiece piece : pieces) {
      if (piece != null
          && piece.text() != null
          && piece.offset() >= 0
          && (OutputPiece.STDOUT.equals(piece.stream())
              || OutputPiece.STDERR.equals(piece.stream()))) {
        checked.add(piece);
      }
    }
    return checked;
  }

  /** Completes with null (look again) once the job's state or attempt changes. */
  private CompletableFuture<OutputPart> changeOf(JobSummary job) {
    return context
        .loop()
        .awaitChange(job.id(), job.state(), job.attempt())
        .thenApply(changed -> null);
  }

  private static CompletableFuture<OutputPart> done(OutputPart part) {
    return CompletableFuture.completedFuture(part);
  }

  /** Nothing new: the reader stays where it is. */
  private static OutputPart part(OutputCursor cursor, int attempt, JobSummary job, boolean done) {
    return new OutputPart(
        cursor.jobId(),
        attempt,
        job,
        List.of(),
        from(cursor.stdoutFrom()),
        from(cursor.stderrFrom()),
        done);
  }

  private static OutputPart quiet(OutputCursor cursor, JobSummary job) {
    return part(cursor, cursor.attempt() == null ? 0 : cursor.attempt(), job, false);
  }

  private static long from(Long offset) {
    return offset == null ? 0 : Math.max(0, offset);
  }

  /**
   * The rest of an ended attempt, from the store, in the order the job wrote it as far as the
   * worker remembered its switches between the streams (stdout, then stderr, when it did not).
   */
  private OutputPart stored(OutputCursor cursor, int attempt, JobSummary job, int partBytes) {
    AttemptOutput kept = context.store().output(job.id(), attempt).orElse(null);
    List<OutputPiece> pieces = new ArrayList<>(2);
    long[] next = {from(cursor.stdoutFrom()), from(cursor.stderrFrom())};
    int budget = partBytes;
    boolean all = true;
    if (kept != null) {
      CapturedOutput[] outputs = {kept.stdout(), kept.stderr()};
      Long[] wanted = {cursor.stdoutFrom(), cursor.stderrFrom()};
      String[] names = {OutputPiece.STDOUT, OutputPiece.STDERR};
      byte[][] bytes = new byte[2][];
      long[] starts = new long[2];
      for (int stream = 0; stream < 2; stream++) {
        CapturedOutput output = outputs[stream];
        bytes[stream] =
            wanted[stream] == null || output == null || output.text() == null
                ? new byte[0]
                : output.text().getBytes(StandardCharsets.UTF_8);
        starts[stream] = output == null ? 0 : Math.max(0, output.droppedBytes());
      }
      for (Segment segment : writeOrder(outputs, starts, bytes)) {
        int stream = segment.stream();
        long start = starts[stream];
        long first = Math.max(next[stream], segment.from());
        long end = characterEnd(bytes[stream], start, segment.to());
        if (first >= end) {
          continue;
        }
        int offset = (int) (first - start);
        int count = (int) Math.min(end - first, budget);
        if (count < end - first) {
          count = completeCharacters(bytes[stream], offset, count);
          all = false;
        }
        if (count > 0) {
          pieces.add(
              new OutputPiece(
                  names[stream],
                  first,
                  new String(bytes[stream], offset, count, StandardCharsets.UTF_8)));
          next[stream] = first + count;
          budget -= count;
        }
        if (!all) {
          break;
        }
      }
    }
    return new OutputPart(
        cursor.jobId(),
        attempt,
        job,
        pieces,
        cursor.stdoutFrom() == null ? 0 : next[0],
        cursor.stderrFrom() == null ? 0 : next[1],
        all);
  }

  /** Bytes [from, to) of one stream, by offset in the stream. */
  record Segment(int stream, long from, long to) {}

  /**
   * The kept bytes of both streams as segments in the order they were written: the bytes before the
   * first remembered switch of each stream first (their order is not known), stdout's then
   * stderr's, then each remembered run in turn. Without the switches, all of stdout then all of
   * stderr.
   *
   * @param starts the offset of each stream's first kept byte
   * @param bytes each stream's kept bytes
   */
  static List<Segment> writeOrder(CapturedOutput[] outputs, long[] starts, byte[][] bytes) {
    long[] ends = {starts[0] + bytes[0].length, starts[1] + bytes[1].length};
    List<Segment> segments = new ArrayList<>();
    List<long[]> runs = new ArrayList<>(); // {number, stream, offset}
    for (int stream = 0; stream < 2; stream++) {
      List<Long> numbers = outputs[stream] == null ? null : outputs[stream].runs();
      if (numbers == null || numbers.size() % 2 != 0) {
        runs.clear();
        break;
      }
      for (int i = 0; i + 1 < numbers.size(); i += 2) {
        runs.add(new long[] {numbers.get(i), stream, numbers.get(i + 1)});
      }
    }
    runs.sort(java.util.Comparator.comparingLong((long[] run) -> run[0]));
    for (int stream = 0; stream < 2; stream++) {
      long firstRun = ends[stream];
      for (long[] run : runs) {
        if (run[1] == stream) {
          firstRun = Math.clamp(run[2], starts[stream], ends[stream]);
          break;
        }
      }
      segments.add(new Segment(stream, starts[stream], firstRun));
    }
    for (int i = 0; i < runs.size(); i++) {
      int stream = (int) runs.get(i)[1];
      long to = ends[stream];
      for (int j = i + 1; j < runs.size(); j++) {
        if (runs.get(j)[1] == stream) {
          to = Math.clamp(runs.get(j)[2], starts[stream], ends[stream]);
          break;
        }
      }
      long from = Math.clamp(runs.get(i)[2], starts[stream], ends[stream]);
      if (from < to) {
        segments.add(new Segment(stream, from, to));
      }
    }
    return segments;
  }

  /**
   * The offset moved past the rest of a character it falls inside (a run may begin in the middle of
   * one when the job's write was split), so that no piece ends inside a character.
   */
  private static long characterEnd(byte[] bytes, long start, long offset) {
    long end = start + bytes.length;
    while (offset > start && offset < end && (bytes[(int) (offset - start)] & 0xC0) == 0x80) {
      offset++;
    }
    return offset;
  }

  /** The length of bytes[offset..offset+length) without a character cut off at its end. */
  static int completeCharacters(byte[] bytes, int offset, int length) {
    int end = offset + length;
    int lead = end - 1;
    while (lead >= offset && end - lead < 4 && (bytes[lead] & 0xC0) == 0x80) {
      lead--;
    }
    if (lead < offset) {
      return length;
    }
    int first = bytes[lead] & 0xFF;
    int needed = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1;
    return end - lead < needed ? lead - offset : length;
  }
}
