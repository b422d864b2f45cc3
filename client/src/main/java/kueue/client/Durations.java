package kueue.client;

import java.time.Duration;

/** Short human forms of durations: "45s", "1m12s", "2h05m", "3d04h". */
final class Durations {
  private Durations() {}

  /** Two units at most, for run times and averages. */
  static String compact(Duration duration) {
    long seconds = Math.max(0, duration.toSeconds());
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return (seconds / 60) + "m" + twoDigits(seconds % 60) + "s";
    }
    if (seconds < 86_400) {
      return (seconds / 3600) + "h" + twoDigits(seconds % 3600 / 60) + "m";
    }
    return (seconds / 86_400) + "d" + twoDigits(seconds % 86_400 / 3600) + "h";
  }

  static String compactSeconds(double seconds) {
    return compact(Duration.ofMillis(Math.round(seconds * 1000)));
  }

  /**
   * For estimates, which are never precise to the second: whole minutes (rounded up) from one
   * minute on.
   */
  static String estimate(double seconds) {
    long rounded = Math.max(0, Math.round(seconds));
    if (rounded < 60) {
      return rounded + "s";
    }
    long minutes = (rounded + 59) / 60;
    if (minutes < 60) {
      return minutes + "m";
    }
    return compact(Duration.ofMinutes(minutes));
  }

  private static String twoDigits(long value) {
    return value < 10 ? "0" + value : String.valueOf(value);
  }
}
