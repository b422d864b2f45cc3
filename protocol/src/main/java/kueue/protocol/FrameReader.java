package kueue.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads newline-terminated messages with a hard size limit, so a peer that never sends a newline
 * costs at most {@link MessageCodec#MAX_MESSAGE_BYTES} bytes of memory before it is cut off.
 */
public final class FrameReader {
  private final InputStream in;
  private final int maxBytes;
  private final byte[] buffer = new byte[4096];
  private int bufferStart;
  private int bufferEnd;

  public FrameReader(InputStream in) {
    this(in, MessageCodec.MAX_MESSAGE_BYTES);
  }

  public FrameReader(InputStream in, int maxBytes) {
    this.in = in;
    this.maxBytes = maxBytes;
  }

  /** The next message's bytes without the newline, or null when the peer closed cleanly. */
  public byte[] next() throws IOException, ProtocolException {
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
    }
  }

  private byte[] append(byte[] line, int lineLength, byte[] source, int from, int count)
      throws ProtocolException {
    if (count == 0) {
      return line;
    }
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
