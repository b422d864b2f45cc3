package kueue.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who listens on a TCP port, from Linux's /proc: said when the server cannot bind its port, since
 * "address in use" alone leaves the user guessing whether it is their own old server or another
 * user's program sitting on the port.
 */
final class PortHolder {
  /** The socket state "listen" in /proc/net/tcp. */
  private static final String LISTEN = "0A";

  private static final int MAX_FD_DIRECTORIES = 100_000;

  private PortHolder() {}

  /** A listening socket: its owner's uid and its inode. */
  record Listener(int uid, long inode) {}

  /**
   * The listeners on {@code port} in the text of /proc/net/tcp or /proc/net/tcp6 (a header line,
   * then one socket per line: slot, local address:port in hex, remote, state, queues, timers,
   * retransmits, uid, timeout, inode, ...).
   */
  static List<Listener> listeners(String procNetTcp, int port) {
    List<Listener> found = new ArrayList<>();
    String wantedPort = String.format(Locale.ROOT, "%04X", port);
    for (String line : procNetTcp.split("\n")) {
      String[] fields = line.strip().split("\\s+");
      if (fields.length < 10 || !LISTEN.equals(fields[3])) {
        continue;
      }
      int colon = fields[1].lastIndexOf(':');
      if (colon < 0 || !fields[1].substring(colon + 1).equalsIgnoreCase(wantedPort)) {
        continue;
      }
      try {
        found.add(new Listener(Integer.parseInt(fields[7]), Long.parseLong(fields[9])));
      } catch (NumberFormatException malformed) {
        // not a socket line
      }
    }
    return found;
  }

  /** The user name of {@code uid} in the text of /etc/passwd, or null. */
  static String userName(String passwd, int uid) {
    for (String line : passwd.split("\n")) {
      String[] fields = line.split(":", -1);
      if (fields.length > 2 && fields[2].equals(Integer.toString(uid))) {
        return fields[0];
      }
    }
    return null;
  }

  /**
   * A sentence naming who holds {@code port}, or null when /proc does not tell (not Linux, or the
   * socket belongs to no one visible).
   */
  static String describe(int port) {
    Set<Listener> listeners = new LinkedHashSet<>();
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      try {
        listeners.addAll(listeners(Files.readString(Path.of(table)), port));
      } catch (IOException | RuntimeException unreadable) {
        // try the other table
      }
    }
    if (listeners.isEmpty()) {
      return null;
    }
    Listener listener = listeners.iterator().next();
    long myUid = myUid();
    if (listener.uid() == myUid) {
      String process = ownProcess(listener.inode());
      return "port "
          + port
          + " is held by one of your own processes"
          + (process == null ? "" : " (" + process + ")")
          + "; is a kueue_server already running? Stop it first, or choose another server_port";
    }
    String name = null;
    try {
      name = userName(Files.readString(Path.of("/etc/passwd")), listener.uid());
    } catch (IOException | RuntimeException unreadable) {
      // the uid alone still says it is someone else
    }
    return "port "
        + port
        + " is held by another user, "
        + (name == null ? "" : name + " ")
        + "(uid "
        + listener.uid()
        + "): choose another server_port in [common] of the config (on every machine), or ask"
        + " them to free it";
  }

  private static long myUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) {
          return Long.parseLong(line.substring(4).strip().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException unreadable) {
      // unknown
    }
    return -1;
  }

  /** "pid N: command line" of the own process whose descriptors include the socket, or null. */
  private static String ownProcess(long inode) {
    String target = "socket:[" + inode + "]";
    int seen = 0;
    try (DirectoryStream<Path> processes =
        Files.newDirectoryStream(
            Path.of("/proc"), entry -> entry.getFileName().toString().matches("\\d+"))) {
      for (Path process : processes) {
        if (++seen > MAX_FD_DIRECTORIES) {
          return null;
        }
        try (DirectoryStream<Path> descriptors = Files.newDirectoryStream(process.resolve("fd"))) {
          for (Path descriptor : descriptors) {
            if (target.equals(Files.readSymbolicLink(descriptor).toString())) {
              String command =
                  new String(Files.readAllBytes(process.resolve("cmdline")), StandardCharsets.UTF_8)
                      .replace('\0', ' ')
                      .strip();
              if (command.length() > 120) {
                command = command.substring(0, 120) + "...";
              }
              return "pid " + process.getFileName() + ": " + command;
            }
          }
        } catch (IOException | RuntimeException notOurs) {
          // another user's process, or gone meanwhile
        }
      }
    } catch (IOException | RuntimeException unreadable) {
      return null;
    }
    return null;
  }
}
