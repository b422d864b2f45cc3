package kueue.client;

/** ANSI colours of the human output; applied only when {@link TerminalInfo#colors()} says so. */
enum Style {
  PLAIN(""),
  BOLD("\u001b[1m"),
  GREEN("\u001b[32m"),
  RED("\u001b[31m"),
  YELLOW("\u001b[33m"),
  BLUE("\u001b[34m"),
  GREY("\u001b[90m");

  private static final String RESET = "\u001b[0m";

  private final String code;

  Style(String code) {
    this.code = code;
  }

  String apply(String text, boolean colors) {
    if (!colors || this == PLAIN || text.isEmpty()) {
      return text;
    }
    return code + text + RESET;
  }
}
