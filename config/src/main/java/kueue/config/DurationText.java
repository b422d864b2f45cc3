package kueue.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as users write them for time limits and delays: with units ({@code 90s}, {@code 30m},
 * {@code 2h}, {@code 1d}, or combined as {@code 1h30m}) or in Slurm's form {@code [D-]HH:MM:SS}
 * (also {@code MM:SS}). A bare number is refused: minutes to Slurm and seconds to most other tools,
 * it would be misread by someone.
 */
public final class DurationText {
  private static final Pattern UNITS =
      Pattern.compile("(?:(\\d+)d)?(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");
  private static final Pattern CLOCK = Pattern.compile("(?:(\\d+)-)?(?:(\\d+):)?(\\d+):(\\d+)");

  /** What a message about a bad duration says is accepted. */
  public static final String FORMS = "e.g. 90s, 30m, 2h, 1h30m, 1d or [D-]HH:MM:SS";

  private DurationText() {}

  /**
   * The duration in whole seconds, at least 1.
   *
   * @throws IllegalArgumentException saying what is wrong and which forms are accepted
   */
  public static long seconds(String text) {
    String value = text == null ? "" : text.strip().toLowerCase(java.util.Locale.ROOT);
    try {
      long seconds = parse(value);
      if (seconds < 1) {
        throw new IllegalArgumentException(
            "'" + text + "' is not a duration of at least one second (" + FORMS + ")");
      }
      return seconds;
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("'" + text + "' is too long a duration");
    }
  }

  private static long parse(String value) {
    Matcher clock = CLOCK.matcher(value);
    if (clock.matches()) {
      long days = number(clock.group(1));
      long hours = number(clock.group(2));
      long minutes = number(clock.group(3));
      long seconds = number(clock.group(4));
      boolean hoursGiven = clock.group(2) != null;
      if (seconds > 59 || (hoursGiven && minutes > 59) || (clock.group(1) != null && hours > 23)) {
        throw new IllegalArgumentException(
            "'" + value + "': minutes and seconds go up to 59 and hours after D- up to 23");
      }
      if (clock.group(1) != null && !hoursGiven) {
        throw new IllegalArgumentException("'" + value + "': write D-HH:MM:SS (" + FORMS + ")");
      }
      return total(days, hours, minutes, seconds);
    }
    Matcher units = UNITS.matcher(value);
    if (!value.isEmpty() && units.matches()) {
      return total(
          number(units.group(1)),
          number(units.group(2)),
          number(units.group(3)),
          number(units.group(4)));
    }
    throw new IllegalArgumentException("'" + value + "' is not a duration (" + FORMS + ")");
  }

  private static long total(long days, long hours, long minutes, long seconds) {
    return Math.addExact(
        Math.addExact(Math.multiplyExact(days, 86_400L), Math.multiplyExact(hours, 3_600L)),
        Math.addExact(Math.multiplyExact(minutes, 60L), seconds));
  }

  private static long number(String digits) {
    if (digits == null) {
      return 0;
    }
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new ArithmeticException("too large");
    }
  }

  /** The shortest form of seconds in units: 90 -> "1m30s", 7200 -> "2h". */
  public static String format(long seconds) {
    if (seconds <= 0) {
      return "0s";
    }
    StringBuilder text = new StringBuilder();
    long days = seconds / 86_400;
    long hours = seconds % 86_400 / 3_600;
    long minutes = seconds % 3_600 / 60;
    long rest = seconds % 60;
    if (days > 0) {
      text.append(days).append('d');
    }
    if (hours > 0) {
      text.append(hours).append('h');
    }
    if (minutes > 0) {
      text.append(minutes).append('m');
    }
    if (rest > 0) {
      text.append(rest).append('s');
    }
    return text.toString();
  }
}
