package kueue.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * The log message with its control characters escaped. Log lines carry text that peers chose (a
 * worker's name, a client's role, a path, an error from the network); a newline in it would start a
 * line of the peer's making, and a terminal escape sequence would act on the terminal of whoever
 * reads the log. Every such character is written as a visible escape instead, so one event is
 * always one line.
 */
public final class EscapedMessageConverter extends MessageConverter {

  @Override
  public String convert(ILoggingEvent event) {
    return escape(super.convert(event));
  }

  /** The text with \n, \r, other control characters and Unicode line breaks escaped. */
  public static String escape(String text) {
    if (text == null) {
      return null;
    }
    int first = firstToEscape(text);
    if (first < 0) {
      return text;
    }
    StringBuilder escaped = new StringBuilder(text.length() + 16).append(text, 0, first);
    for (int i = first; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '\n' -> escaped.append("\\n");
        case '\r' -> escaped.append("\\r");
        default -> {
          if (mustEscape(c)) {
            escaped.append(String.format("\\u%04x", (int) c));
          } else {
            escaped.append(c);
          }
        }
      }
    }
    return escaped.toString();
  }

  private static int firstToEscape(String text) {
    for (int i = 0; i < text.length(); i++) {
      if (mustEscape(text.charAt(i))) {
        return i;
      }
    }
    return -1;
  }

  /** Tabs stay: they cannot start a line or move the cursor anywhere but along it. */
  private static boolean mustEscape(char c) {
    return (c < 0x20 && c != '\t') || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
  }
}
