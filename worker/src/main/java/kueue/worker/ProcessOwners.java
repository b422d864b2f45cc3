package kueue.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Who runs a process, from /proc: its owner, and which job of this worker it belongs to. A job runs
 * in a session of its own (the worker starts it with setsid), so its processes share the job's
 * process id as their session or process group; a process that left both is still recognised by the
 * KUEUE_JOB_ID in its environment, when that is readable, if the job is one of this worker's.
 */
final class ProcessOwners {
  private ProcessOwners() {}

  static DeviceReport.Owner owner(long pid, Map<Long, Long> jobsByPid) {
    Path process = Path.of("/proc", Long.toString(pid));
    String user;
    try {
      user = Files.getOwner(process).getName();
    } catch (IOException | RuntimeException e) {
      // Gone, or in another PID namespace (a container): not one of this worker's jobs.
      return DeviceReport.Owner.UNKNOWN;
    }
    Long job = jobsByPid.get(pid);
    if (job == null) {
      job = fromStat(process, jobsByPid);
    }
    if (job == null) {
      job = fromEnvironment(process, jobsByPid);
    }
    return new DeviceReport.Owner(true, user, job);
  }

  private static Long fromStat(Path process, Map<Long, Long> jobsByPid) {
    try {
      String stat = Files.readString(process.resolve("stat"), StandardCharsets.UTF_8);
      // The command name in parentheses may hold spaces: fields are counted after its end.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      for (int field : new int[] {2, 3}) { // process group, session
        Long job = jobsByPid.get(Long.parseLong(fields[field]));
        if (job != null) {
          return job;
        }
      }
    } catch (IOException | RuntimeException e) {
      // ended meanwhile
    }
    return null;
  }

  private static Long fromEnvironment(Path process, Map<Long, Long> jobsByPid) {
    try {
      byte[] environ = Files.readAllBytes(process.resolve("environ"));
      for (String variable : new String(environ, StandardCharsets.UTF_8).split("\0")) {
        if (variable.startsWith("KUEUE_JOB_ID=")) {
          long job = Long.parseLong(variable.substring("KUEUE_JOB_ID=".length()));
          return jobsByPid.containsValue(job) ? job : null;
        }
      }
    } catch (IOException | RuntimeException e) {
      // another user's process, or ended meanwhile
    }
    return null;
  }
}
