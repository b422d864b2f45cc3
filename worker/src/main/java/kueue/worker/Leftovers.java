package kueue.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends what a job leaves running when its main process ends, like Slurm: the processes of its
 * session and those that escaped it (see {@link LeftoverRules} for how they are told apart), TERM
 * first and KILL after the grace of time limits; and collects the exit status of the processes
 * handed to the worker as their subreaper ({@link Subreaper}), which would otherwise stay zombies.
 *
 * <p>Every leftover is a descendant of the worker once the main process has ended: its children
 * were handed to the worker, the rest hang below them. The kernel hands them to the first live
 * thread of the subreaper, its main thread, which the JVM keeps until it exits; so the common case,
 * a job that left nothing, costs one read of that thread's {@code children} file.
 */
final class Leftovers {
  private static final Logger log = LoggerFactory.getLogger(Leftovers.class);
  private static final int SIGTERM = 15;
  private static final int SIGKILL = 9;
  private static final Duration POLL = Duration.ofMillis(20);

  /** After KILL, how long to wait for the processes to be gone before giving up on them. */
  private static final Duration AFTER_KILL = Duration.ofSeconds(2);

  private static final Path SELF_TASKS = Path.of("/proc/self/task");
  private static final Duration MAIN_THREAD_CHECK_PERIOD = Duration.ofSeconds(1);

  private final Subreaper subreaper;
  private final Duration grace;
  private final long selfPid = ProcessHandle.current().pid();
  private final Path mainThread = SELF_TASKS.resolve(Long.toString(selfPid));
  private volatile boolean mainThreadAlive;
  private volatile long mainThreadCheckedAt =
      System.nanoTime() - MAIN_THREAD_CHECK_PERIOD.toNanos();

  /** The main processes of running jobs. */
  private final Set<Long> running = ConcurrentHashMap.newKeySet();

  /**
   * Starts hold it shared, from before a main process exists until it is in {@link #running};
   * whoever decides from /proc whose a process is holds it exclusively, so that a main process
   * never counts as a leftover between its start and its registration.
   */
  private final ReentrantReadWriteLock starting = new ReentrantReadWriteLock();

  Leftovers(Subreaper subreaper, Duration grace) {
    this.subreaper = subreaper;
    this.grace = grace;
  }

  /** Starts a job through start, which returns its main process's pid (or -1 if none). */
  <T> T start(Supplier<T> start, java.util.function.ToLongFunction<T> pidOf) {
    starting.readLock().lock();
    try {
      T started = start.get();
      long pid = pidOf.applyAsLong(started);
      if (pid > 0) {
        running.add(pid);
      }
      return started;
    } finally {
      starting.readLock().unlock();
    }
  }

  /**
   * Called once the job's main process has ended and been collected. Unless keep, ends what the job
   * left behind and returns when it is gone (at most the grace and a little more); returns how many
   * processes were ended.
   */
  int jobEnded(long jobId, long mainPid, boolean keep) {
    if (!running.remove(mainPid) || keep || !anyHandedOver()) {
      return 0;
    }
    // Each is signalled right after the reading of /proc that found it alive: a process of the
    // job is the worker's descendant, so only its parent, itself a leftover, could collect it and
    // free its pid meanwhile.
    Set<Long> signalled = new HashSet<>();
    long termAt = System.nanoTime();
    boolean killed = false;
    long giveUpAt = termAt + grace.toNanos() + AFTER_KILL.toNanos();
    while (true) {
      List<LeftoverRules.ProcessStat> alive = leftoversOf(jobId, mainPid, signalled);
      if (alive.isEmpty()) {
        break;
      }
      long now = System.nanoTime();
      if (now - giveUpAt >= 0) {
        log.warn(
            "job {}: {} leftover processes did not end after KILL: {}",
            jobId,
            alive.size(),
            alive.stream().map(LeftoverRules.ProcessStat::pid).toList());
        break;
      }
      boolean killNow = !killed && now - termAt >= grace.toNanos();
      for (LeftoverRules.ProcessStat process : alive) {
        if (signalled.add(process.pid())) {
          subreaper.signal(process.pid(), killed ? SIGKILL : SIGTERM);
        } else if (killNow) {
          subreaper.signal(process.pid(), SIGKILL);
        }
      }
      killed |= killNow;
      sleep(POLL);
    }
    if (!signalled.isEmpty()) {
      log.info(
          "job {}: ended {} leftover process{} {}",
          jobId,
          signalled.size(),
          signalled.size() == 1 ? "" : "es",
          signalled);
    }
    return signalled.size();
  }

  /**
   * Collects the exit status of ended processes handed to the worker. Meant to be called
   * periodically; costs one system call while there are none.
   */
  void collectEnded() {
    if (!subreaper.anyChildEnded()) {
      return;
    }
    starting.writeLock().lock();
    try {
      Set<Long> runningNow = Set.copyOf(running);
      for (long child : childrenOfTasks(allTasks())) {
        LeftoverRules.ProcessStat stat = stat(child);
        if (stat != null
            && LeftoverRules.collectable(stat, subreaper.sessionId(), runningNow)
            && stat.parent() == selfPid) {
          subreaper.collect(child);
        }
      }
    } finally {
      starting.writeLock().unlock();
    }
  }

  /** Whether the worker has a child that is not a job's main process, as a cheap first look. */
  private boolean anyHandedOver() {
    List<Long> children =
        mainThreadAlive() ? childrenOfTasks(List.of(mainThread)) : childrenOfTasks(allTasks());
    for (long child : children) {
      if (!running.contains(child)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The job's processes still alive, found below the worker's children; those that ended and are
   * the worker's children are collected on the way. A child of the worker is the job's by {@link
   * LeftoverRules}; everything below one of the job's processes is the job's too, wherever it went
   * since (another session, a cleared environment). Those already signalled are known to be the
   * job's: once ended, their environment can no longer be read.
   */
  private List<LeftoverRules.ProcessStat> leftoversOf(
      long jobId, long mainPid, Set<Long> signalled) {
    starting.writeLock().lock();
    try {
      Set<Long> runningNow = Set.copyOf(running);
      List<LeftoverRules.ProcessStat> found = new ArrayList<>();
      Deque<Long> theJobs = new ArrayDeque<>();
      for (long child : childrenOfTasks(allTasks())) {
        if (runningNow.contains(child)) {
          continue;
        }
        LeftoverRules.ProcessStat stat = stat(child);
        if (stat == null) {
          continue;
        }
        LeftoverRules.Owner owner =
            LeftoverRules.owner(stat, mainPid, subreaper.sessionId(), runningNow);
        if (signalled.contains(child) && stat.session() != subreaper.sessionId()
            || owner == LeftoverRules.Owner.THIS_JOB
            || owner == LeftoverRules.Owner.ENVIRONMENT_DECIDES
                && LeftoverRules.markedFor(environment(child), jobId)) {
          if (stat.ended()) {
            subreaper.collect(child);
          } else {
            found.add(stat);
            theJobs.add(child);
          }
        }
      }
      Set<Long> seen = new HashSet<>(theJobs);
      while (!theJobs.isEmpty()) {
        for (long pid : childrenOfTasks(tasksOf(theJobs.poll()))) {
          LeftoverRules.ProcessStat stat = seen.add(pid) ? stat(pid) : null;
          if (stat != null && !stat.ended()) {
            found.add(stat);
            theJobs.add(pid);
          }
        }
      }
      return found;
    } finally {
      starting.writeLock().unlock();
    }
  }

  /**
   * Whether the main thread still runs (checked at most once a second): should it have ended, what
   * is handed to the worker goes to another thread.
   */
  private boolean mainThreadAlive() {
    long now = System.nanoTime();
    if (now - mainThreadCheckedAt < MAIN_THREAD_CHECK_PERIOD.toNanos()) {
      return mainThreadAlive;
    }
    boolean alive;
    try {
      LeftoverRules.ProcessStat stat =
          LeftoverRules.parseStat(selfPid, Files.readString(mainThread.resolve("stat")));
      alive = stat != null && !stat.ended();
    } catch (IOException | RuntimeException e) {
      alive = false;
    }
    mainThreadAlive = alive;
    mainThreadCheckedAt = now;
    return alive;
  }

  private static List<Path> allTasks() {
    return tasksOf(SELF_TASKS);
  }

  private static List<Path> tasksOf(long pid) {
    return tasksOf(Path.of("/proc", Long.toString(pid), "task"));
  }

  private static List<Path> tasksOf(Path taskDirectory) {
    List<Path> tasks = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(taskDirectory)) {
      entries.forEach(tasks::add);
    } catch (IOException | RuntimeException e) {
      // ended meanwhile
    }
    return tasks;
  }

  /** The children of these threads (/proc/PID/task/TID/children). */
  private static List<Long> childrenOfTasks(List<Path> tasks) {
    List<Long> children = new ArrayList<>();
    for (Path task : tasks) {
      String text;
      try {
        text = Files.readString(task.resolve("children"), StandardCharsets.US_ASCII);
      } catch (IOException | RuntimeException e) {
        continue;
      }
      for (String pid : text.strip().split(" ")) {
        if (!pid.isEmpty()) {
          children.add(Long.parseLong(pid));
        }
      }
    }
    return children;
  }

  private static LeftoverRules.ProcessStat stat(long pid) {
    try {
      return LeftoverRules.parseStat(
          pid, Files.readString(Path.of("/proc", Long.toString(pid), "stat")));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String environment(long pid) {
    try {
      return new String(
          Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ")),
          StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      // another user's (a set-user-ID program), or ended meanwhile
      return "";
    }
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
