package kueue.model;

/**
 * The tail of a captured stream. {@code droppedBytes} counts what was cut from the front to keep
 * the stored output within its cap; 0 means the text is complete.
 */
public record CapturedOutput(String text, long droppedBytes) {
  public static final CapturedOutput EMPTY = new CapturedOutput("", 0);

  public boolean truncated() {
    return droppedBytes > 0;
  }
}
