package kueue.worker;

import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One attempt of a job on this worker, from start to its {@link JobResult}. Created by {@link
 * ProcessRunner}; an attempt that could not start is a RunningJob whose result is already there.
 *
 * <p>Signals: processes started by {@link NativeSpawner} report the signal that ended them exactly.
 * Through ProcessBuilder (the fallback) the JDK reports a process killed by signal N as exit code
 * 128+N, which cannot be told apart from a program that exits with that code itself: only when this
 * worker sent the signal (after {@link #kill()}) and the code is 128+TERM or 128+KILL is it
 * reported as a signal; every other code is reported as the JDK gives it.
 */
public final class RunningJob {
  private static final Logger log = LoggerFactory.getLogger(RunningJob.class);
  private static final int SIGKILL = 9;
  private static final int SIGTERM = 15;

  /**
   * How long output readers may take after the program exited. A background child that keeps the
   * job's stdout open would otherwise hold back the result forever.
   */
  private static final Duration OUTPUT_DRAIN_TIMEOUT = Duration.ofSeconds(2);

  /**
   * Every job needs a thread blocked in system calls (so not a virtual thread) until it ends: one
   * that polls its pipes and its pidfd (see {@link NativeSpawner#watch}), or, for processes from
   * ProcessBuilder or without pidfd_open, one waiting for its end and one per captured stream.
   * Reusing them saves starting threads for every job, which took longer than starting the job's
   * process.
   */
  private static final ExecutorService THREADS =
      Executors.newCachedThreadPool(
          task -> Thread.ofPlatform().daemon().name("job").unstarted(task));

  /**
   * Read buffers of the pooled threads, which read one stream at a time, instead of one per job.
   */
  private static final ThreadLocal<byte[]> CHUNK = ThreadLocal.withInitial(() -> new byte[8192]);

  private final AttemptRef attempt;
  private final Process process;
  private final boolean ownGroup;
  private final Instant started;
  private final Duration killGrace;
  private final CompletableFuture<JobResult> result = new CompletableFuture<>();
  private final AtomicBoolean killRequested = new AtomicBoolean();
  private final LiveOutput output;

  /** This worker signalled the process group: an exit code of 128+TERM or 128+KILL is ours. */
  private volatile boolean signalled;

  /**
   * The watch of a process whose starter watches it first, until {@link #watchFor} takes it. Only
   * the starting thread touches it.
   */
  private NativeWatch callersWatch;

  private RunningJob(
      AttemptRef attempt,
      Process process,
      boolean ownGroup,
      Instant started,
      Duration killGrace,
      LiveOutput output) {
    this.attempt = attempt;
    this.output = output;
    this.process = process;
    this.ownGroup = ownGroup;
    this.started = started;
    this.killGrace = killGrace;
  }

  static RunningJob notStarted(AttemptRef attempt, JobOutcome outcome) {
    RunningJob job = new RunningJob(attempt, null, false, null, Duration.ZERO, LiveOutput.none());
    job.result.complete(new JobResult(outcome, CapturedOutput.EMPTY, CapturedOutput.EMPTY));
    return job;
  }

  /** Watches a started process, whose captured streams go to output. */
  static RunningJob watch(
      AttemptRef attempt,
      Process process,
      boolean ownGroup,
      Instant started,
      LiveOutput output,
      Duration killGrace,
      Clock clock,
      boolean watchedByCaller) {
    RunningJob job = new RunningJob(attempt, process, ownGroup, started, killGrace, output);
    if (process instanceof NativeSpawner.SpawnedProcess spawned) {
      int pidfd = spawned.openPidfd();
      if (pidfd >= 0) {
        NativeWatch watch = job.new NativeWatch(spawned, pidfd, clock);
        if (watchedByCaller) {
          job.callersWatch = watch;
        } else {
          watch.handOver();
        }
        return job;
      }
    }
    String name = job.threadName();
    List<Future<?>> readers = new ArrayList<>();
    if (output.captured(LiveOutput.STDOUT)) {
      readers.add(
          startReader(name + "-stdout", process.getInputStream(), output.sink(LiveOutput.STDOUT)));
    }
    if (output.captured(LiveOutput.STDERR)) {
      readers.add(
          startReader(name + "-stderr", process.getErrorStream(), output.sink(LiveOutput.STDERR)));
    }
    THREADS.execute(named(name + "-wait", () -> job.awaitEnd(readers, clock)));
    return job;
  }

  public AttemptRef attempt() {
    return attempt;
  }

  /** When the process started; null if it never did. */
  public Instant started() {
    return started;
  }

  /** The process id, which is also its process group id when it has its own group; -1 if none. */
  public long pid() {
    return process == null ? -1 : process.pid();
  }

  /** Completes once the process ended and its captured output is read. Never fails. */
  public CompletableFuture<JobResult> result() {
    return result.copy();
  }

  /** The output as it is written, for followers. */
  LiveOutput output() {
    return output;
  }

  public boolean hasEnded() {
    return result.isDone();
  }

  /**
   * Sends TERM to the whole process group, then KILL after the grace period. Returns at once; the
   * result completes when the process is gone. Repeated calls do nothing more.
   */
  public void kill() {
    if (process == null || !killRequested.compareAndSet(false, true)) {
      return;
    }
    signalled = true;
    if (result.isDone()) {
      return;
    }
    if (process instanceof NativeSpawner.SpawnedProcess spawned) {
      spawned.signalGroup(SIGTERM);
      CompletableFuture.delayedExecutor(killGrace.toMillis(), TimeUnit.MILLISECONDS)
          .execute(() -> spawned.signalGroup(SIGKILL));
      return;
    }
    ProcessSignals.signalGroup(process.toHandle(), ownGroup, ProcessSignals.Signal.TERM);
    CompletableFuture.delayedExecutor(killGrace.toMillis(), TimeUnit.MILLISECONDS)
        .execute(
            () -> {
              // The group may outlive its leader, so it gets KILL even when the leader is gone.
              if (ownGroup || process.isAlive()) {
                ProcessSignals.signalGroup(
                    process.toHandle(), ownGroup, ProcessSignals.Signal.KILL);
              }
            });
  }

  /**
   * Sends one signal to the whole process group, at once and with no KILL to follow: whoever asks
   * decides whether and when that comes (a job stopped at its time limit has its own grace).
   */
  public void signal(ProcessSignals.Signal signal) {
    if (process == null || result.isDone()) {
      return;
    }
    signalled = true;
    if (process instanceof NativeSpawner.SpawnedProcess spawned) {
      spawned.signalGroup(signal == ProcessSignals.Signal.TERM ? SIGTERM : SIGKILL);
      return;
    }
    ProcessSignals.signalGroup(process.toHandle(), ownGroup, signal);
  }

  /** The task, run under the given thread name so that thread dumps tell the jobs apart. */
  private static Runnable named(String name, Runnable task) {
    return () -> {
      Thread thread = Thread.currentThread();
      String before = thread.getName();
      thread.setName(name);
      try {
        task.run();
      } finally {
        thread.setName(before);
      }
    };
  }

  private void awaitEnd(List<Future<?>> readers, Clock clock) {
    int code = waitForExit();
    Instant ended = clock.instant();
    long deadline = System.nanoTime() + OUTPUT_DRAIN_TIMEOUT.toNanos();
    for (Future<?> reader : readers) {
      try {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          throw new TimeoutException();
        }
        reader.get(remaining, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        log.debug("{}: output still open after the program exited; reporting what was read", this);
      } catch (ExecutionException e) {
        log.debug("{}: reading output failed: {}", this, e.getCause().toString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    finish(code, ended);
  }

  /**
   * For a job started by {@link ProcessRunner#startToWatch}: watches its process on the calling
   * thread for at most quick (a job that ends within it needs no other thread), then leaves the
   * rest to a pooled thread. Returns the result if the job has ended by then, else null. For other
   * jobs it only waits up to quick for the result.
   */
  public JobResult watchFor(Duration quick) {
    NativeWatch watch = callersWatch;
    callersWatch = null;
    if (watch == null) {
      try {
        return quick.isZero()
            ? result.getNow(null)
            : result.get(quick.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    if (watch.carryOn(System.nanoTime() + quick.toNanos())) {
      return result.getNow(null);
    }
    watch.handOver();
    return null;
  }

  private String threadName() {
    return "job-" + attempt.jobId() + "." + attempt.attempt();
  }

  /**
   * One thread at a time reads both streams and reaps the process: see {@link NativeSpawner.Watch}.
   */
  private final class NativeWatch {
    private final NativeSpawner.Watch watch;
    private final Clock clock;
    private Instant ended;

    NativeWatch(NativeSpawner.SpawnedProcess spawned, int pidfd, Clock clock) {
      this.clock = clock;
      this.watch =
          spawned.spawner()
          .new Watch(
              spawned,
              pidfd,
              output.sink(LiveOutput.STDOUT),
              output.sink(LiveOutput.STDERR),
              OUTPUT_DRAIN_TIMEOUT,
              () -> ended = clock.instant(),
              THREADS);
    }

    /** Leaves the rest of the watch to a pooled thread. */
    void handOver() {
      THREADS.execute(named(threadName(), () -> carryOn(NativeSpawner.Watch.NEVER)));
    }

    /** Watches until giveUpAt (see {@link NativeSpawner.Watch#runUntil}); true once finished. */
    boolean carryOn(long giveUpAt) {
      try {
        if (!watch.runUntil(giveUpAt)) {
          return false;
        }
      } catch (RuntimeException e) {
        log.warn("{}: watching the process failed; waiting for its end alone", RunningJob.this, e);
        waitForExit();
      }
      finish(process.exitValue(), ended != null ? ended : clock.instant());
      return true;
    }
  }

  private void finish(int code, Instant ended) {
    JobOutcome outcome;
    int signal = code - 128;
    if (process instanceof NativeSpawner.SpawnedProcess spawned
        && spawned.terminatingSignal() != null) {
      outcome = new JobOutcome(null, spawned.terminatingSignal(), null, started, ended);
    } else if (signalled && (signal == SIGTERM || signal == SIGKILL)) {
      outcome = new JobOutcome(null, signal, null, started, ended);
    } else {
      outcome = new JobOutcome(code, null, null, started, ended);
    }
    JobResult ending =
        new JobResult(
            outcome, output.snapshot(LiveOutput.STDOUT), output.snapshot(LiveOutput.STDERR));
    output.end();
    result.complete(ending);
  }

  private int waitForExit() {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return process.waitFor();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static Future<?> startReader(String name, InputStream in, NativeSpawner.Sink buffer) {
    return THREADS.submit(
        named(
            name,
            () -> {
              byte[] chunk = CHUNK.get();
              try (in) {
                int read;
                while ((read = in.read(chunk)) >= 0) {
                  buffer.write(chunk, 0, read);
                }
              } catch (IOException e) {
                log.debug("{}: reading output stopped: {}", name, e.getMessage());
              }
            }));
  }

  @Override
  public String toString() {
    return "job " + attempt.jobId() + " attempt " + attempt.attempt();
  }
}
