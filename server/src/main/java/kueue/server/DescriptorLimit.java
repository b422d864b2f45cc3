package kueue.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** The process's limit on open files, which caps how many connections it can hold. */
final class DescriptorLimit {
  private DescriptorLimit() {}

  /** The soft limit on open files from /proc/self/limits, or -1 where that is not readable. */
  static long soft() {
    try {
      return parseSoftLimit(Files.readString(Path.of("/proc/self/limits")));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Descriptors open now, or -1 where that is not readable. */
  static long inUse() {
    try (Stream<Path> open = Files.list(Path.of("/proc/self/fd"))) {
      return open.count();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /**
   * The soft limit of the "Max open files" line of /proc/PID/limits, or -1 when it is missing or
   * unlimited.
   */
  static long parseSoftLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) {
        String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
        return fields[0].equals("unlimited") ? -1 : Long.parseLong(fields[0]);
      }
    }
    return -1;
  }
}
