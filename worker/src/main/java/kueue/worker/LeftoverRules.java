package kueue.worker;

import java.util.Set;

/**
 * Which processes left behind by a job's main process belong to that job, decided from what /proc
 * shows (pure: {@link Leftovers} reads /proc and acts).
 *
 * <p>A job's main process leads a session of its own, and its session id stays its pid until every
 * process in it has ended, so no other process can get that pid meanwhile. A process started by the
 * job stays in that session through fork and exec, whatever process group it moves to; only
 * setsid(2) (a daemon's double fork, {@code setsid sleep}) leaves it. Such a process still carries
 * the {@code KUEUE_JOB_ID} the worker put in the job's environment, which survives fork, exec and
 * setsid; only a program that clears its environment on purpose loses it, and that one is left
 * alone rather than guessed at. Both are read only when a job ends and has left something, which
 * costs nothing while it runs (recording each job's descendants while it runs would read /proc all
 * the time and still miss a process that escapes between two readings).
 */
final class LeftoverRules {
  private LeftoverRules() {}

  /** One process as its /proc/PID/stat shows it. */
  record ProcessStat(long pid, long parent, long session, char state) {
    /** Ended, waiting for its parent to collect its exit status. */
    boolean ended() {
      return state == 'Z' || state == 'X';
    }
  }

  /** Whose a process is. */
  enum Owner {
    /** In the session of the job's main process. */
    THIS_JOB,
    /** In the worker's session (the JDK's own helpers) or in the session of a running job. */
    OTHER,
    /** Escaped from every session: its environment decides ({@link #markedFor}). */
    ENVIRONMENT_DECIDES
  }

  /** A /proc/PID/stat line, or null when it cannot be read as one. */
  static ProcessStat parseStat(long pid, String stat) {
    // The command name in parentheses may hold spaces and parentheses: fields follow the last ')'.
    int end = stat.lastIndexOf(')');
    if (end < 0 || end + 2 >= stat.length()) {
      return null;
    }
    String[] fields = stat.substring(end + 2).split(" ");
    // state, ppid, pgrp, session, ...
    if (fields.length < 4 || fields[0].isEmpty()) {
      return null;
    }
    try {
      return new ProcessStat(
          pid, Long.parseLong(fields[1]), Long.parseLong(fields[3]), fields[0].charAt(0));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /**
   * @param jobSession the pid of the ended job's main process, which was its session id
   * @param workerSession the worker's own session
   * @param runningSessions the main processes of the worker's jobs that still run
   */
  static Owner owner(
      ProcessStat process, long jobSession, long workerSession, Set<Long> runningSessions) {
    if (process.session() == jobSession) {
      return Owner.THIS_JOB;
    }
    if (process.session() == workerSession || runningSessions.contains(process.session())) {
      return Owner.OTHER;
    }
    return Owner.ENVIRONMENT_DECIDES;
  }

  /** Whether an environment (/proc/PID/environ: NUL-separated) is that of a process of jobId. */
  static boolean markedFor(String environ, long jobId) {
    String wanted = "KUEUE_JOB_ID=" + jobId;
    for (String variable : environ.split("\0")) {
      if (variable.equals(wanted)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a child of the worker may be collected by the worker's periodic check: only one that
   * neither the JDK nor a job's watcher waits for. Those wait for a specific pid each: the JDK for
   * the processes it started (its helpers, in the worker's session, and jobs started through
   * ProcessBuilder, registered as running jobs), a watcher for its job's main process (registered
   * too). Anything else that is a child of the worker was handed to it as subreaper, and nobody
   * else will ever wait for it.
   */
  static boolean collectable(ProcessStat child, long workerSession, Set<Long> runningSessions) {
    return child.ended()
        && child.session() != workerSession
        && !runningSessions.contains(child.pid());
  }
}
