package kueue.client;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Size of the user's terminal and whether to use colours, decided once per run.
 *
 * <p>Size: COLUMNS and LINES when set, else {@code stty size} on /dev/tty when stdout is a terminal
 * (120x40 when that fails), else {@link #UNLIMITED}: what goes to a file or another program is
 * neither clipped to a width nor cut to a height. Colours: when stdout is a terminal that is not
 * "dumb" (TERM), or when CLICOLOR_FORCE (not "0") forces them, e.g. for {@code watch --color kueue
 * list-jobs}; never when NO_COLOR is set.
 */
record TerminalInfo(int width, int height, boolean colors) {
  static final int DEFAULT_WIDTH = 120;
  static final int DEFAULT_HEIGHT = 40;

  /** No limit: the width or height of output that is not a terminal. */
  static final int UNLIMITED = Integer.MAX_VALUE;

  /** The terminal of the process that reads it, whichever that is. */
  static final Path CONTROLLING_TERMINAL = Path.of("/dev/tty");

  static TerminalInfo detect(Map<String, String> env, boolean stdoutIsTerminal) {
    return detect(env, stdoutIsTerminal, CONTROLLING_TERMINAL);
  }

  /**
   * @param device the terminal stdout is on, asked for its size when COLUMNS or LINES is unset
   */
  static TerminalInfo detect(Map<String, String> env, boolean stdoutIsTerminal, Path device) {
    Integer width = positive(env.get("COLUMNS"));
    Integer height = positive(env.get("LINES"));
    if ((width == null || height == null) && stdoutIsTerminal) {
      int[] size = sttySize(device);
      if (size != null) {
        height = height == null ? size[0] : height;
        width = width == null ? size[1] : width;
      }
    }
    boolean noColor = env.get("NO_COLOR") != null && !env.get("NO_COLOR").isEmpty();
    // A dumb terminal (Emacs' shell, some CI logs) prints escape sequences as text.
    boolean dumb = "dumb".equals(env.get("TERM"));
    String force = env.get("CLICOLOR_FORCE");
    boolean forced = force != null && !force.isEmpty() && !force.equals("0");
    return new TerminalInfo(
        width != null ? width : stdoutIsTerminal ? DEFAULT_WIDTH : UNLIMITED,
        height != null ? height : stdoutIsTerminal ? DEFAULT_HEIGHT : UNLIMITED,
        !noColor && (forced || (stdoutIsTerminal && !dumb)));
  }

  private static Integer positive(String value) {
    if (value == null) {
      return null;
    }
    try {
      int number = Integer.parseInt(value.strip());
      return number > 0 ? number : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** rows and columns, or null when they cannot be read. */
  private static int[] sttySize(Path device) {
    File tty = device.toFile();
    if (!tty.canRead()) {
      return null;
    }
    try {
      Process stty =
          new ProcessBuilder("stty", "size")
              .redirectInput(tty)
              .redirectError(ProcessBuilder.Redirect.DISCARD)
              .start();
      String answer = new String(stty.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!stty.waitFor(2, TimeUnit.SECONDS) || stty.exitValue() != 0) {
        stty.destroy();
        return null;
      }
      String[] parts = answer.strip().split("\\s+");
      if (parts.length != 2) {
        return null;
      }
      int rows = Integer.parseInt(parts[0]);
      int columns = Integer.parseInt(parts[1]);
      return rows > 0 && columns > 0 ? new int[] {rows, columns} : null;
    } catch (IOException | NumberFormatException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
