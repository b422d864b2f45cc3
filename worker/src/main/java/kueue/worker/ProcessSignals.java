package kueue.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends TERM or KILL to a job's process group. The JDK can only signal single processes, so the
 * group is signalled through the kill program; the leader's descendants are signalled directly as
 * well, to also reach children that moved to a group of their own while they are still in the tree.
 */
final class ProcessSignals {
  private static final Logger log = LoggerFactory.getLogger(ProcessSignals.class);
  private static final String KILL_PROGRAM = findProgram("/bin/kill", "/usr/bin/kill");
  private static final String SETSID_PROGRAM = findProgram("/usr/bin/setsid", "/bin/setsid");

  enum Signal {
    TERM,
    KILL
  }

  private ProcessSignals() {}

  static void signalGroup(ProcessHandle leader, boolean ownGroup, Signal signal) {
    List<ProcessHandle> descendants = leader.descendants().toList();
    if (ownGroup && KILL_PROGRAM != null) {
      runKill(leader.pid(), signal);
    }
    signalDirectly(leader, signal);
    descendants.forEach(process -> signalDirectly(process, signal));
  }

  private static void signalDirectly(ProcessHandle process, Signal signal) {
    if (process.isAlive()) {
      if (signal == Signal.TERM) {
        process.destroy();
      } else {
        process.destroyForcibly();
      }
    }
  }

  private static void runKill(long processGroup, Signal signal) {
    try {
      Process kill =
          new ProcessBuilder(KILL_PROGRAM, "-s", signal.name(), "--", "-" + processGroup)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!kill.waitFor(5, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
      }
    } catch (IOException e) {
      log.warn("cannot signal process group {}: {}", processGroup, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The setsid program, or null when this machine has none. When the caller is not a process group
   * leader (a JVM child never is), setsid calls setsid(2) and execs the program in the same
   * process, so the job's pid is also its session and process group id.
   */
  static String setsidProgram() {
    return SETSID_PROGRAM;
  }

  private static String findProgram(String... candidates) {
    for (String candidate : candidates) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    return null;
  }
}
