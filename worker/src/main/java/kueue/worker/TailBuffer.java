package kueue.worker;

import java.nio.charset.StandardCharsets;
import kueue.model.CapturedOutput;

/**
 * Keeps the last {@code capacity} bytes written to it and counts what it had to drop. Memory grows
 * with the output only until the cap is reached, then the buffer wraps around, so a job printing
 * gigabytes costs no more than one that prints exactly the cap.
 */
final class TailBuffer {
  private static final int INITIAL_SIZE = 8192;
  private static final byte[] NO_BYTES = new byte[0];

  private final int capacity;
  private byte[] data;
  private int start;
  private int size;
  private long droppedBytes;

  TailBuffer(long capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("capacity cannot be negative: " + capacity);
    }
    this.capacity = (int) Math.min(capacity, Integer.MAX_VALUE - 16);
    // Most jobs print little or nothing: the buffer is allocated by the first write.
    this.data = NO_BYTES;
  }

  synchronized void write(byte[] bytes, int offset, int length) {
    if (length <= 0) {
      return;
    }
    if (length >= capacity) {
      droppedBytes += size + (length - capacity);
      growTo(capacity);
      System.arraycopy(bytes, offset + length - capacity, data, 0, capacity);
      start = 0;
      size = capacity;
      return;
    }
    if (size + length > data.length && data.length < capacity) {
      growTo(
          (int)
              Math.min(
                  capacity,
                  Math.max(Math.max((long) size + length, 2L * data.length), INITIAL_SIZE)));
    }
    int overflow = size + length - data.length;
    if (overflow > 0) {
      droppedBytes += overflow;
      start = (start + overflow) % data.length;
      size -= overflow;
    }
    int end = (start + size) % data.length;
    int firstChunk = Math.min(length, data.length - end);
    System.arraycopy(bytes, offset, data, end, firstChunk);
    System.arraycopy(bytes, offset + firstChunk, data, 0, length - firstChunk);
    size += length;
  }

  /**
   * The kept bytes as text. When the front was cut in the middle of a UTF-8 character, its
   * remaining continuation bytes are dropped too so the text does not start with a replacement
   * character.
   */
  synchronized CapturedOutput snapshot() {
    byte[] bytes = linear();
    int skip = 0;
    if (droppedBytes > 0) {
      while (skip < bytes.length && skip < 3 && (bytes[skip] & 0xC0) == 0x80) {
        skip++;
      }
    }
    String text = new String(bytes, skip, bytes.length - skip, StandardCharsets.UTF_8);
    return new CapturedOutput(text, droppedBytes + skip);
  }

  synchronized long droppedBytes() {
    return droppedBytes;
  }

  /** The offset after the last byte written: every byte ever written, kept or not. */
  synchronized long end() {
    return droppedBytes + size;
  }

  /**
   * Copies up to length kept bytes from stream offset from on (at least {@link #droppedBytes()}, at
   * most {@link #end()}) into target; returns how many.
   */
  synchronized int copy(long from, byte[] target, int targetOffset, int length) {
    long skip = from - droppedBytes;
    if (skip < 0 || from > droppedBytes + size) {
      throw new IllegalArgumentException("offset " + from + " is not kept");
    }
    int count = (int) Math.min(length, size - skip);
    if (count <= 0) {
      return 0;
    }
    int first = (int) ((start + skip) % data.length);
    int firstChunk = Math.min(count, data.length - first);
    System.arraycopy(data, first, target, targetOffset, firstChunk);
    System.arraycopy(data, 0, target, targetOffset + firstChunk, count - firstChunk);
    return count;
  }

  private void growTo(int newLength) {
    if (newLength <= data.length) {
      return;
    }
    byte[] bytes = linear();
    data = new byte[newLength];
    System.arraycopy(bytes, 0, data, 0, bytes.length);
    start = 0;
  }

  private byte[] linear() {
    byte[] bytes = new byte[size];
    int firstChunk = Math.min(size, data.length - start);
    System.arraycopy(data, start, bytes, 0, firstChunk);
    System.arraycopy(data, 0, bytes, firstChunk, size - firstChunk);
    return bytes;
  }
}
