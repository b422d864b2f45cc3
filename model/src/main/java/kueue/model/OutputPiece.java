package kueue.model;

/**
 * Consecutive bytes of one output stream of one attempt, as text.
 *
 * @param stream "stdout" or "stderr"
 * @param offset the position of its first byte in the stream (0 = the first byte the attempt
 *     wrote); larger than what the reader asked for when the bytes in between are no longer kept
 * @param text the bytes, decoded as UTF-8; a piece never ends inside a character
 */
public record OutputPiece(String stream, long offset, String text) {
  public static final String STDOUT = "stdout";
  public static final String STDERR = "stderr";
}
