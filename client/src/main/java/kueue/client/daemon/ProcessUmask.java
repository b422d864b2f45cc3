package kueue.client.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The file mode creation mask of this process, which a job carries so that its files are as private
 * as the submitter's. Java has no call for it, and umask(2) can only be read by setting it; Linux
 * shows it as the "Umask:" line of /proc/self/status (since 4.7). In the relay's jar: the relay
 * reads it for the daemon.
 */
public final class ProcessUmask {
  private ProcessUmask() {}

  /** The mask (0 to 0777), or null where the system does not show it. */
  public static Integer current() {
    try {
      return parse(Files.readString(Path.of("/proc/self/status"), StandardCharsets.US_ASCII));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The mask in the text of a /proc/PID/status file, or null when it has none. */
  static Integer parse(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("Umask:")) {
        try {
          int mask = Integer.parseInt(line.substring("Umask:".length()).strip(), 8);
          return mask >= 0 && mask <= 0777 ? mask : null;
        } catch (NumberFormatException e) {
          return null;
        }
      }
    }
    return null;
  }
}
