package kueue.model;

import java.util.List;
import java.util.regex.Pattern;

/** Turns an argv back into something a user can read and paste into a shell. */
public final class CommandLines {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

  private CommandLines() {}

  public static String join(List<String> argv) {
    StringBuilder out = new StringBuilder();
    for (String arg : argv) {
      if (!out.isEmpty()) {
        out.append(' ');
      }
      out.append(SAFE.matcher(arg).matches() ? arg : "'" + arg.replace("'", "'\\''") + "'");
    }
    return out.toString();
  }
}
