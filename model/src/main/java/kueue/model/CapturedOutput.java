package kueue.model;

import java.util.List;

/**
 * The tail of a captured stream. {@code droppedBytes} counts what was cut from the front to keep
 * the stored output within its cap; 0 means the text is complete.
 *
 * @param runs where the job switched to this stream, as far as the worker remembers: pairs of the
 *     switch's number among the switches of both streams (counted from the attempt's first write)
 *     and the byte offset in this stream where that run of writes began; together with the other
 *     stream's, they tell the order in which the job wrote both. Null when the order is not known
 *     or not needed (only one stream has output)
 */
public record CapturedOutput(String text, long droppedBytes, List<Long> runs) {
  public static final CapturedOutput EMPTY = new CapturedOutput("", 0);

  public CapturedOutput {
    runs = runs == null ? null : List.copyOf(runs);
  }

  public CapturedOutput(String text, long droppedBytes) {
    this(text, droppedBytes, null);
  }

  public boolean truncated() {
    return droppedBytes > 0;
  }

  /** The same stream with more cut from its front; the switches keep their offsets. */
  public CapturedOutput cut(String newText, long newDroppedBytes) {
    return new CapturedOutput(newText, newDroppedBytes, runs);
  }
}
