package kueue.client;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which of the submitter's environment variables a job gets. Everything is kept except what only
 * makes sense on the submitting host or in its terminal session:
 *
 * <ul>
 *   <li>display and desktop session: DISPLAY, WAYLAND_DISPLAY, XAUTHORITY, SESSION_MANAGER,
 *       DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, XDG_SESSION_*, XDG_SEAT, XDG_VTNR;
 *   <li>remote login: SSH_* (agent socket, client address, tty);
 *   <li>host and shell state: HOSTNAME, HOST, PWD, OLDPWD, SHLVL, _ (the last command);
 *   <li>the terminal, which a job never has (stdin is /dev/null, output goes to files): TERM,
 *       TERM_*, COLORTERM, COLUMNS, LINES, WINDOWID, VTE_VERSION, TMUX, TMUX_PANE, STY, WINDOW;
 *   <li>KUEUE_JOB_ID, KUEUE_WORKER, KUEUE_ARRAY_ID and KUEUE_ARRAY_INDEX, which the worker sets for
 *       each job itself (a job submitted from inside another job must not inherit its parent's).
 * </ul>
 */
final class EnvironmentFilter {
  static final Set<String> DROPPED_NAMES =
      Set.of(
          "DISPLAY",
          "WAYLAND_DISPLAY",
          "XAUTHORITY",
          "SESSION_MANAGER",
          "DBUS_SESSION_BUS_ADDRESS",
          "XDG_RUNTIME_DIR",
          "XDG_SEAT",
          "XDG_VTNR",
          "HOSTNAME",
          "HOST",
          "PWD",
          "OLDPWD",
          "SHLVL",
          "_",
          "TERM",
          "COLORTERM",
          "COLUMNS",
          "LINES",
          "WINDOWID",
          "VTE_VERSION",
          "TMUX",
          "TMUX_PANE",
          "STY",
          "WINDOW",
          "KUEUE_JOB_ID",
          "KUEUE_WORKER",
          "KUEUE_ARRAY_ID",
          "KUEUE_ARRAY_INDEX");

  static final Set<String> DROPPED_PREFIXES = Set.of("SSH_", "XDG_SESSION_", "TERM_");

  private EnvironmentFilter() {}

  static Map<String, String> forJob(Map<String, String> environment) {
    Map<String, String> kept = new TreeMap<>();
    environment.forEach(
        (name, value) -> {
          if (keeps(name)) {
            kept.put(name, value);
          }
        });
    return kept;
  }

  static boolean keeps(String name) {
    if (DROPPED_NAMES.contains(name)) {
      return false;
    }
    for (String prefix : DROPPED_PREFIXES) {
      if (name.startsWith(prefix)) {
        return false;
      }
    }
    return true;
  }
}
