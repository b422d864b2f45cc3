package kueue.worker;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import kueue.model.CapturedOutput;
import kueue.model.OutputPiece;

/**
 * The output of one attempt as it is written, for whoever follows it: the tails of its captured
 * streams (the same buffers whose snapshots become its result) or the files it writes with -o, and
 * the order in which it switched between stdout and stderr. Nothing here costs anything while
 * nobody follows, beyond remembering where each switch between the streams happened.
 */
final class LiveOutput {
  static final int STDOUT = 0;
  static final int STDERR = 1;
  private static final String[] NAMES = {OutputPiece.STDOUT, OutputPiece.STDERR};

  /**
   * Switches between the streams remembered; older ones are forgotten, and the bytes before the
   * oldest switch kept are given stream by stream.
   */
  static final int MAX_SWITCHES = 4096;

  private final TailBuffer[] buffers = new TailBuffer[2];
  private final Path[] files = new Path[2];

  /**
   * Where each run of writes to one stream began, in write order: {stream, offset}. Made by the
   * first write: most jobs print nothing.
   */
  private ArrayDeque<long[]> runs;

  private int lastStream = -1;

  /** Switches removed from the front of {@link #runs}, so that the kept ones keep their numbers. */
  private long forgottenSwitches;

  /** Bytes given to followers in the current window (see {@link #allowance}). */
  private long windowStart;

  private long windowBytes;
  private boolean windowOpen;
  private List<Waiter> waiters;
  private boolean ended;

  /** How much of the end of a file written with -o/-e is kept with the ended attempt. */
  private final long fileTailBytes;

  /**
   * @param stdout the captured stdout, or null when it is not captured
   * @param stdoutFile the file stdout is written to, or null
   * @param fileTailBytes how much of the end of each file is kept once the attempt has ended, as
   *     much as of a captured stream
   */
  LiveOutput(
      TailBuffer stdout, TailBuffer stderr, Path stdoutFile, Path stderrFile, long fileTailBytes) {
    buffers[STDOUT] = stdout;
    buffers[STDERR] = stderr;
    files[STDOUT] = stdout == null ? stdoutFile : null;
    files[STDERR] = stderr == null ? stderrFile : null;
    this.fileTailBytes = fileTailBytes;
  }

  static LiveOutput none() {
    LiveOutput output = new LiveOutput(null, null, null, null, 0);
    output.ended = true;
    return output;
  }

  /** Where the stream's bytes go as the job writes them; null when it is not captured. */
  NativeSpawner.Sink sink(int stream) {
    return buffers[stream] == null
        ? null
        : (bytes, offset, length) -> write(stream, bytes, offset, length);
  }

  boolean captured(int stream) {
    return buffers[stream] != null;
  }

  /** Whether a stream is written to a file, whose growth nobody announces: readers must poll. */
  boolean hasFiles() {
    return files[STDOUT] != null || files[STDERR] != null;
  }

  /**
   * The kept tail of the stream, for the attempt's result; when both streams have output, with
   * where the job switched to this stream within what is kept (see {@link CapturedOutput#runs}), so
   * that the ended attempt's output can be shown in write order.
   */
  CapturedOutput snapshot(int stream) {
    if (buffers[stream] == null) {
      return files[stream] == null ? CapturedOutput.EMPTY : fileTail(files[stream]);
    }
    CapturedOutput tail = buffers[stream].snapshot();
    List<Long> kept = runsOf(stream, tail.droppedBytes());
    return kept == null ? tail : new CapturedOutput(tail.text(), tail.droppedBytes(), kept);
  }

  /**
   * The end of a file the job wrote a stream to, kept with the ended attempt like a captured
   * stream's tail: once the attempt has ended its worker no longer answers for it, and a job that
   * ends before anyone asked would otherwise leave nothing to show. Only a regular file is read (a
   * FIFO put in its place would block); a link put in its place is not followed.
   */
  private CapturedOutput fileTail(Path file) {
    if (fileTailBytes <= 0 || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      return CapturedOutput.EMPTY;
    }
    try (FileChannel channel =
        FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = channel.size();
      int length = (int) Math.min(size, Math.min(fileTailBytes, Integer.MAX_VALUE - 8));
      long from = size - length;
      ByteBuffer into = ByteBuffer.allocate(length);
      while (into.hasRemaining() && channel.read(into, from + into.position()) > 0) {
        // until the tail is read, or the file got shorter meanwhile
      }
      byte[] bytes = into.array();
      int read = into.position();
      // The tail starts at a whole character: bytes continuing one cut off count as dropped.
      int skip = 0;
      while (skip < Math.min(3, read) && (bytes[skip] & 0xC0) == 0x80) {
        skip++;
      }
      return new CapturedOutput(
          new String(bytes, skip, read - skip, StandardCharsets.UTF_8), from + skip);
    } catch (IOException e) {
      return CapturedOutput.EMPTY;
    }
  }

  /** Pairs of switch number and offset of the stream's runs that reach into the kept tail. */
  private synchronized List<Long> runsOf(int stream, long droppedBytes) {
    int other = 1 - stream;
    if (runs == null
        || buffers[other] == null
        || buffers[other].end() == 0
        || buffers[stream].end() == 0) {
      return null;
    }
    long[][] order = runs.toArray(new long[0][]);
    List<Long> kept = new ArrayList<>();
    for (int i = 0; i < order.length; i++) {
      if (order[i][0] != stream) {
        continue;
      }
      long nextStart = Long.MAX_VALUE;
      for (int j = i + 2; j < order.length; j += 2) {
        // runs alternate between the streams: the next run of this one is two further on
        if (order[j][0] == stream) {
          nextStart = order[j][1];
          break;
        }
      }
      if (nextStart > droppedBytes) {
        kept.add(forgottenSwitches + i);
        kept.add(order[i][1]);
      }
    }
    return kept;
  }

  void write(int stream, byte[] bytes, int offset, int length) {
    if (length <= 0) {
      return;
    }
    List<Waiter> wake;
    synchronized (this) {
      TailBuffer buffer = buffers[stream];
      if (stream != lastStream) {
        if (runs == null) {
          runs = new ArrayDeque<>(4);
        }
        runs.addLast(new long[] {stream, buffer.end()});
        if (runs.size() > MAX_SWITCHES) {
          runs.removeFirst();
          forgottenSwitches++;
        }
        lastStream = stream;
      }
      buffer.write(bytes, offset, length);
      wake = waiters;
      waiters = null;
    }
    if (wake != null) {
      wake.forEach(Waiter::wake);
    }
  }

  /** The process has ended and its output is read: whoever waits is told. */
  void end() {
    List<Waiter> wake;
    synchronized (this) {
      ended = true;
      wake = waiters;
      waiters = null;
    }
    if (wake != null) {
      wake.forEach(Waiter::wake);
    }
  }

  /**
   * How many bytes followers may be given now, at most wanted: followers of one attempt together
   * get at most {@link #FOLLOW_BYTES_PER_WINDOW} per {@link #FOLLOW_WINDOW_NANOS}, so that moving a
   * job's output to them never takes the CPU the job needs (a follower that cannot have more falls
   * behind and skips ahead). 0: wait until {@link #nextWindow}.
   */
  synchronized int allowance(long now, int wanted) {
    if (!windowOpen || now - windowStart >= FOLLOW_WINDOW_NANOS) {
      windowOpen = true;
      windowStart = now;
      windowBytes = 0;
    }
    return (int) Math.max(0, Math.min(wanted, FOLLOW_BYTES_PER_WINDOW - windowBytes));
  }

  /** Counts bytes given to a follower against the current window. */
  synchronized void given(long bytes) {
    windowBytes += bytes;
  }

  /** When the current window ends, in nanoTime. */
  synchronized long nextWindow() {
    return windowStart + FOLLOW_WINDOW_NANOS;
  }

  static final long FOLLOW_WINDOW_NANOS = 100_000_000;
  static final long FOLLOW_BYTES_PER_WINDOW = 1 << 20;

  /** Someone waiting for new output. */
  interface Waiter {
    /** Called on the writing thread: must only hand the work on. */
    void wake();

    /** True once it no longer waits (it gave up), so that it need not be kept. */
    boolean gone();
  }

  /**
   * Wakes whenNew once something past the offsets is written or the process ends. Returns false,
   * without keeping it, when that is the case already.
   */
  synchronized boolean awaitNew(Long stdoutFrom, Long stderrFrom, Waiter whenNew) {
    if (hasNew(STDOUT, stdoutFrom) || hasNew(STDERR, stderrFrom) || ended) {
      return false;
    }
    if (waiters == null) {
      waiters = new ArrayList<>(1);
    }
    // Followers of a job that prints nothing for days give up every few seconds and ask again.
    waiters.removeIf(Waiter::gone);
    waiters.add(whenNew);
    return true;
  }

  /** Whether anything past the offsets is there now (null: that stream is not wanted). */
  synchronized boolean hasNew(Long stdoutFrom, Long stderrFrom) {
    return hasNew(STDOUT, stdoutFrom) || hasNew(STDERR, stderrFrom) || ended;
  }

  private boolean hasNew(int stream, Long from) {
    return from != null && end(stream) > from;
  }

  /**
   * What {@link #read} found: the pieces, where the reader stands after them, and if all is read.
   */
  record Read(List<OutputPiece> pieces, long stdoutNext, long stderrNext, boolean ended) {}

  /**
   * Up to maxBytes written from the offsets on (null: the stream is not wanted), in write order as
   * far as the remembered switches tell. An offset before what is kept moves to the oldest byte
   * kept, which the first piece's offset then shows. Pieces never end inside a UTF-8 character
   * unless the process has ended.
   */
  Read read(Long stdoutFrom, Long stderrFrom, int maxBytes) {
    Reader reader = gather(stdoutFrom, stderrFrom, maxBytes);
    // Decoded outside the lock: the job's reading thread waits for nothing but the copying.
    List<OutputPiece> pieces = new ArrayList<>(reader.chunks.size());
    for (Chunk chunk : reader.chunks) {
      pieces.add(
          new OutputPiece(
              NAMES[chunk.stream()],
              chunk.offset(),
              new String(chunk.bytes(), 0, chunk.length(), StandardCharsets.UTF_8)));
    }
    // A reader moves past bytes no longer kept only with a piece, whose offset shows the skip.
    return new Read(
        pieces,
        stdoutFrom == null ? 0 : reader.gave[STDOUT] ? reader.from[STDOUT] : stdoutFrom,
        stderrFrom == null ? 0 : reader.gave[STDERR] ? reader.from[STDERR] : stderrFrom,
        reader.all);
  }

  private record Chunk(int stream, long offset, byte[] bytes, int length) {}

  private synchronized Reader gather(Long stdoutFrom, Long stderrFrom, int maxBytes) {
    long[] from = {stdoutFrom == null ? -1 : stdoutFrom, stderrFrom == null ? -1 : stderrFrom};
    long[] end = new long[2];
    boolean[] wanted = new boolean[2];
    for (int stream = 0; stream < 2; stream++) {
      if (from[stream] < 0) {
        continue;
      }
      end[stream] = end(stream);
      wanted[stream] = from[stream] < end[stream];
      if (wanted[stream]) {
        from[stream] = Math.max(from[stream], start(stream));
      }
    }
    Reader reader = new Reader(from, end, maxBytes);
    long[][] order = runs == null ? new long[0][] : runs.toArray(new long[0][]);
    boolean going = true;
    // Bytes older than the oldest remembered switch of their stream, in no known order.
    for (int stream = 0; stream < 2 && going; stream++) {
      if (wanted[stream]) {
        long firstRun = end[stream];
        for (long[] run : order) {
          if (run[0] == stream) {
            firstRun = Math.min(run[1], end[stream]);
            break;
          }
        }
        going = reader.emit(stream, firstRun);
      }
    }
    for (int i = 0; i < order.length && going; i++) {
      int stream = (int) order[i][0];
      if (!wanted[stream]) {
        continue;
      }
      long runEnd = end[stream];
      for (int j = i + 1; j < order.length; j++) {
        if (order[j][0] == stream) {
          runEnd = Math.min(order[j][1], end[stream]);
          break;
        }
      }
      going = reader.emit(stream, runEnd);
    }
    reader.all =
        ended
            && (stdoutFrom == null || reader.from[STDOUT] >= end[STDOUT])
            && (stderrFrom == null || reader.from[STDERR] >= end[STDERR]);
    return reader;
  }

  /** Gathers pieces within a byte budget; stops at the first piece it cannot give whole. */
  private final class Reader {
    final long[] from;
    final long[] end;
    int budget;
    final List<Chunk> chunks = new ArrayList<>();
    final boolean[] gave = new boolean[2];
    boolean all;

    Reader(long[] from, long[] end, int budget) {
      this.from = from;
      this.end = end;
      this.budget = budget;
    }

    /** Gives the stream's bytes up to upTo; false when it stopped short (no later piece may go). */
    boolean emit(int stream, long upTo) {
      long wantedBytes = upTo - from[stream];
      if (wantedBytes <= 0) {
        return true;
      }
      int count = (int) Math.min(wantedBytes, budget);
      byte[] bytes = new byte[count];
      count = copy(stream, from[stream], bytes, count);
      boolean whole = count == wantedBytes;
      // A character cut at the end of what there is now is given once its other bytes are there.
      if (!whole || (upTo == end[stream] && !ended)) {
        count = completeCharacters(bytes, count);
      }
      if (count > 0) {
        chunks.add(new Chunk(stream, from[stream], bytes, count));
        gave[stream] = true;
        from[stream] += count;
        budget -= count;
      }
      return count == wantedBytes && budget > 0;
    }
  }

  private long start(int stream) {
    return buffers[stream] != null ? buffers[stream].droppedBytes() : 0;
  }

  private long end(int stream) {
    if (buffers[stream] != null) {
      return buffers[stream].end();
    }
    if (files[stream] != null) {
      try {
        return Files.size(files[stream]);
      } catch (IOException e) {
        return 0;
      }
    }
    return 0;
  }

  private int copy(int stream, long from, byte[] target, int length) {
    if (buffers[stream] != null) {
      return buffers[stream].copy(from, target, 0, length);
    }
    try (FileChannel channel = FileChannel.open(files[stream], StandardOpenOption.READ)) {
      ByteBuffer into = ByteBuffer.wrap(target, 0, length);
      long position = from;
      while (into.hasRemaining()) {
        int read = channel.read(into, position);
        if (read <= 0) {
          break;
        }
        position += read;
      }
      return into.position();
    } catch (IOException e) {
      return 0;
    }
  }

  /** The length without a UTF-8 character cut off at its end, which the next read gives whole. */
  static int completeCharacters(byte[] bytes, int length) {
    int lead = length - 1;
    while (lead >= 0 && length - lead < 4 && (bytes[lead] & 0xC0) == 0x80) {
      lead--;
    }
    if (lead < 0) {
      return length;
    }
    int first = bytes[lead] & 0xFF;
    int needed = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1;
    return length - lead < needed ? lead : length;
  }
}
