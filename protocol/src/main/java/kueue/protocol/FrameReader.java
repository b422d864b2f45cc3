package kueue.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads newline-terminated messages with a hard size limit, so a peer that never sends a newline
 * costs at most {@link MessageCodec#MAX_MESSAGE_BYTES} bytes of memory before it is cut off. It
 * also tells since when it waits for a message and since when a message is incomplete, so that a
 * watchdog on another thread can close idle or trickling peers.
 */
public final class FrameReader {
  private static final long NEVER = -1;

  private final InputStream in;
  private volatile int maxBytes;
  private final byte[] buffer = new byte[4096];
  private int bufferStart;
  private int bufferEnd;
  private volatile long waitingSince = NEVER;
  private volatile long partialSince = NEVER;

  public FrameReader(InputStream in) {
    this(in, MessageCodec.MAX_MESSAGE_BYTES);
  }

  public FrameReader(InputStream in, int maxBytes) {
    this.in = in;
    this.maxBytes = maxBytes;
  }

  /** Changes the size limit from the next message on. */
  public void limit(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /**
   * {@link System#nanoTime()} when {@link #next()} started waiting for a message that has not begun
   * to arrive yet, or -1 when it is not waiting (the caller is busy with the last message).
   */
  public long waitingSince() {
    return waitingSince;
  }

  /**
   * {@link System#nanoTime()} when the first bytes of the message now being read arrived, or -1
   * when no message is partly read.
   */
  public long partialMessageSince() {
    return partialSince;
  }

  /**
   * True when bytes of a further message have been read already, so that {@link #next()} would not
   * have to wait for the peer first (unless the message is incomplete).
   */
  public boolean hasBuffered() {
    return bufferStart < bufferEnd;
  }

  /** The next message's bytes without the newline, or null when the peer closed cleanly. */
  public byte[] next() throws IOException, ProtocolException {
    if (bufferStart < bufferEnd) {
      partialSince = System.nanoTime();
    } else {
      waitingSince = System.nanoTime();
    }
    try {
      return readLine();
    } finally {
      partialSince = NEVER;
      waitingSince = NEVER;
    }
  }

  private byte[] readLine() throws IOException, ProtocolException {
    byte[] line = new byte[0];
    int lineLength = 0;
    while (true) {
      for (int i = bufferStart; i < bufferEnd; i++) {
        if (buffer[i] == '\n') {
          int chunk = i - bufferStart;
          line = append(line, lineLength, buffer, bufferStart, chunk);
          lineLength += chunk;
          bufferStart = i + 1;
          return lineLength == line.length ? line : Arrays.copyOf(line, lineLength);
        }
      }
      int chunk = bufferEnd - bufferStart;
      line = append(line, lineLength, buffer, bufferStart, chunk);
      lineLength += chunk;
      bufferStart = bufferEnd;
      int read = in.read(buffer, 0, buffer.length);
      if (read < 0) {
        if (lineLength > 0) {
          throw new ProtocolException("connection closed in the middle of a message");
        }
        return null;
      }
      bufferStart = 0;
      bufferEnd = read;
      if (read > 0 && partialSince == NEVER) {
        partialSince = System.nanoTime();
        waitingSince = NEVER;
      }
    }
  }

  private byte[] append(byte[] line, int lineLength, byte[] source, int from, int count)
      throws ProtocolException {
    if (count == 0) {
      return line;
    }
    int maxBytes = this.maxBytes;
    if (lineLength + count > maxBytes) {
      throw new ProtocolException("message longer than " + maxBytes + " bytes");
    }
    if (lineLength + count > line.length) {
      line = Arrays.copyOf(line, Math.min(maxBytes, Math.max(lineLength + count, line.length * 2)));
    }
    System.arraycopy(source, from, line, lineLength, count);
    return line;
  }
}
