package kueue.worker;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts job processes with glibc's posix_spawn through the JDK's foreign function API. Compared
 * with ProcessBuilder running {@code setsid PROGRAM}, it starts the program in a session and
 * process group of its own without an extra exec, about four times faster, which matters for
 * thousands of short jobs; and waitpid tells a death by signal apart from an exit code.
 *
 * <p>Only used where every needed libc function exists (Linux with glibc 2.34 or newer); elsewhere
 * {@link #load()} is empty and the worker falls back to ProcessBuilder.
 */
final class NativeSpawner {
  private static final Logger log = LoggerFactory.getLogger(NativeSpawner.class);

  // glibc's values on Linux.
  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  private static final short POSIX_SPAWN_SETSID = 0x80;
  private static final int O_RDONLY = 0;
  private static final int O_WRONLY = 1;
  private static final int O_CREAT = 0100;
  private static final int O_TRUNC = 01000;
  private static final int O_CLOEXEC = 02000000;

  /** Linux's value on ARM differs from the generic one (x86, RISC-V, ...). */
  private static final int O_NOFOLLOW =
      System.getProperty("os.arch", "").matches("aarch64|arm.*") ? 0100000 : 0400000;

  /** Generous upper bounds of glibc's opaque structures (336, 80 and 128 bytes on x86-64). */
  private static final long ATTR_BYTES = 1024;

  private static final long ACTIONS_BYTES = 1024;
  private static final long SIGSET_BYTES = 256;

  private final MethodHandle spawn;
  private final MethodHandle attrInit;
  private final MethodHandle attrSetFlags;
  private final MethodHandle attrSetSigMask;
  private final MethodHandle attrSetSigDefault;
  private final MethodHandle actionsInit;
  private final MethodHandle actionsDestroy;
  private final MethodHandle actionsOpen;
  private final MethodHandle actionsDup2;
  private final MethodHandle actionsChdir;
  private final MethodHandle actionsCloseFrom;
  private final MethodHandle sigEmptySet;
  private final MethodHandle sigFillSet;
  private final MethodHandle pipe2;
  private final MethodHandle close;
  private final MethodHandle waitpid;
  private final MethodHandle kill;
  private final MethodHandle strerror;
  private final MethodHandle read;
  private final MethodHandle poll;

  /** Null where glibc lacks it (before 2.36): jobs are then watched by a thread per stream. */
  private final MethodHandle pidfdOpen;

  /**
   * The spawn attributes, the same for every job: prepared once. posix_spawn only reads them, so
   * launcher threads share them.
   */
  private final MemorySegment attributes;

  private static final long EINTR = 4;
  private static final java.lang.foreign.StructLayout CALL_STATE =
      Linker.Option.captureStateLayout();
  private static final java.lang.invoke.VarHandle ERRNO =
      CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

  private NativeSpawner(SymbolLookup libc, Linker linker) {
    spawn =
        find(
            libc,
            linker,
            "posix_spawn",
            JAVA_INT,
            ADDRESS,
            ADDRESS,
            ADDRESS,
            ADDRESS,
            ADDRESS,
            ADDRESS);
    attrInit = find(libc, linker, "posix_spawnattr_init", JAVA_INT, ADDRESS);
    attrSetFlags = find(libc, linker, "posix_spawnattr_setflags", JAVA_INT, ADDRESS, JAVA_SHORT);
    attrSetSigMask = find(libc, linker, "posix_spawnattr_setsigmask", JAVA_INT, ADDRESS, ADDRESS);
    attrSetSigDefault =
        find(libc, linker, "posix_spawnattr_setsigdefault", JAVA_INT, ADDRESS, ADDRESS);
    actionsInit = find(libc, linker, "posix_spawn_file_actions_init", JAVA_INT, ADDRESS);
    actionsDestroy = find(libc, linker, "posix_spawn_file_actions_destroy", JAVA_INT, ADDRESS);
    actionsOpen =
        find(
            libc,
            linker,
            "posix_spawn_file_actions_addopen",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            JAVA_INT);
    actionsDup2 =
        find(
            libc,
            linker,
            "posix_spawn_file_actions_adddup2",
            JAVA_INT,
            ADDRESS,
            JAVA_INT,
            JAVA_INT);
    actionsChdir =
        find(libc, linker, "posix_spawn_file_actions_addchdir_np", JAVA_INT, ADDRESS, ADDRESS);
    actionsCloseFrom =
        find(libc, linker, "posix_spawn_file_actions_addclosefrom_np", JAVA_INT, ADDRESS, JAVA_INT);
    sigEmptySet = find(libc, linker, "sigemptyset", JAVA_INT, ADDRESS);
    sigFillSet = find(libc, linker, "sigfillset", JAVA_INT, ADDRESS);
    pipe2 = find(libc, linker, "pipe2", JAVA_INT, ADDRESS, JAVA_INT);
    close = find(libc, linker, "close", JAVA_INT, JAVA_INT);
    waitpid = find(libc, linker, "waitpid", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
    kill = find(libc, linker, "kill", JAVA_INT, JAVA_INT, JAVA_INT);
    strerror = find(libc, linker, "strerror", ADDRESS, JAVA_INT);
    read =
        linker.downcallHandle(
            libc.find("read")
                .orElseThrow(() -> new UnsupportedOperationException("no read in libc")),
            FunctionDescriptor.of(
                java.lang.foreign.ValueLayout.JAVA_LONG,
                JAVA_INT,
                ADDRESS,
                java.lang.foreign.ValueLayout.JAVA_LONG),
            Linker.Option.captureCallState("errno"));
    poll =
        linker.downcallHandle(
            libc.find("poll")
                .orElseThrow(() -> new UnsupportedOperationException("no poll in libc")),
            FunctionDescriptor.of(
                JAVA_INT, ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG, JAVA_INT),
            Linker.Option.captureCallState("errno"));
    pidfdOpen =
        libc.find("pidfd_open")
            .map(
                symbol ->
                    linker.downcallHandle(
                        symbol, FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT)))
            .orElse(null);
    attributes = Arena.ofAuto().allocate(ATTR_BYTES, 16);
    try (Arena arena = Arena.ofConfined()) {
      check((int) attrInit.invokeExact(attributes), "posix_spawnattr_init");
      // The worker's threads may block or ignore signals; a job starts with the defaults.
      MemorySegment empty = arena.allocate(SIGSET_BYTES, 16);
      MemorySegment all = arena.allocate(SIGSET_BYTES, 16);
      check((int) sigEmptySet.invokeExact(empty), "sigemptyset");
      check((int) sigFillSet.invokeExact(all), "sigfillset");
      check((int) attrSetSigMask.invokeExact(attributes, empty), "posix_spawnattr_setsigmask");
      check((int) attrSetSigDefault.invokeExact(attributes, all), "posix_spawnattr_setsigdefault");
      check(
          (int)
              attrSetFlags.invokeExact(
                  attributes,
                  (short) (POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)),
          "posix_spawnattr_setflags");
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  private static MethodHandle find(
      SymbolLookup libc,
      Linker linker,
      String name,
      java.lang.foreign.MemoryLayout result,
      java.lang.foreign.MemoryLayout... arguments) {
    MemorySegment symbol =
        libc.find(name)
            .orElseThrow(() -> new UnsupportedOperationException("no " + name + " in libc"));
    return linker.downcallHandle(symbol, FunctionDescriptor.of(result, arguments));
  }

  /** The spawner, if this platform has everything it needs. */
  static Optional<NativeSpawner> load() {
    if (!System.getProperty("os.name", "").equals("Linux")
        || Boolean.getBoolean("kueue.worker.noNativeSpawn")) {
      return Optional.empty();
    }
    try {
      Linker linker = Linker.nativeLinker();
      return Optional.of(new NativeSpawner(linker.defaultLookup(), linker));
    } catch (RuntimeException e) {
      log.info("starting jobs through ProcessBuilder: {}", e.getMessage());
      return Optional.empty();
    }
  }

  /** Where one of the child's output streams goes. */
  sealed interface Output {
    /** A pipe the worker reads. */
    record Pipe() implements Output {}

    /** /dev/null. */
    record Discard() implements Output {}

    /** A file, created or truncated. */
    record File(Path path) implements Output {}

    /** The same place as stdout (only for stderr). */
    record SameAsStdout() implements Output {}
  }

  /**
   * Starts executable (an absolute path) with argv in cwd, in a new session, stdin from /dev/null.
   *
   * @throws IOException with the system's reason when the program cannot be started
   */
  SpawnedProcess spawn(
      Path executable,
      List<String> argv,
      Map<String, String> environment,
      Path cwd,
      Output stdout,
      Output stderr)
      throws IOException {
    return spawn(
        executable,
        argv,
        environment.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList(),
        cwd,
        stdout,
        stderr);
  }

  /** Like the above, with the environment as "NAME=value" lines. */
  SpawnedProcess spawn(
      Path executable,
      List<String> argv,
      List<String> environment,
      Path cwd,
      Output stdout,
      Output stderr)
      throws IOException {
    return spawn(executable, argv, Environment.EMPTY, environment, cwd, stdout, stderr);
  }

  /**
   * "NAME=value" lines as the C strings and pointer array posix_spawn takes, made once for the jobs
   * that share them (encoding a few dozen variables for every job cost more than the rest of
   * preparing its spawn). Freed by the garbage collector once unreachable.
   */
  static final class Environment {
    static final Environment EMPTY = new Environment(MemorySegment.NULL, 0);

    private final MemorySegment pointers;
    private final int count;

    private Environment(MemorySegment pointers, int count) {
      this.pointers = pointers;
      this.count = count;
    }

    static Environment of(List<String> lines) {
      Arena arena = Arena.ofAuto();
      MemorySegment pointers = arena.allocate(ADDRESS, Math.max(1, lines.size()));
      for (int i = 0; i < lines.size(); i++) {
        pointers.setAtIndex(ADDRESS, i, arena.allocateFrom(lines.get(i)));
      }
      return new Environment(pointers, lines.size());
    }
  }

  /** Like the above, with the environment as the shared part and the job's own lines. */
  SpawnedProcess spawn(
      Path executable,
      List<String> argv,
      Environment shared,
      List<String> own,
      Path cwd,
      Output stdout,
      Output stderr)
      throws IOException {
    int[] outPipe = null;
    int[] errPipe = null;
    try (Arena arena = Arena.ofConfined()) {
      try {
        outPipe = stdout instanceof Output.Pipe ? newPipe(arena) : null;
        errPipe = stderr instanceof Output.Pipe ? newPipe(arena) : null;
        MemorySegment actions = arena.allocate(ACTIONS_BYTES, 16);
        check((int) actionsInit.invokeExact(actions), "posix_spawn_file_actions_init");
        try {
          check(
              (int)
                  actionsOpen.invokeExact(actions, 0, arena.allocateFrom("/dev/null"), O_RDONLY, 0),
              "addopen stdin");
          addOutput(arena, actions, 1, stdout, outPipe);
          addOutput(arena, actions, 2, stderr, errPipe);
          // Nothing of the worker (sockets, database, pipes of other jobs) leaks into the job.
          check((int) actionsCloseFrom.invokeExact(actions, 3), "addclosefrom");
          check(
              (int) actionsChdir.invokeExact(actions, arena.allocateFrom(cwd.toString())),
              "addchdir");

          MemorySegment argvArray = stringArray(arena, argv);
          MemorySegment envArray = arena.allocate(ADDRESS, shared.count + own.size() + 1L);
          MemorySegment.copy(shared.pointers, 0, envArray, 0, shared.count * ADDRESS.byteSize());
          for (int i = 0; i < own.size(); i++) {
            envArray.setAtIndex(ADDRESS, shared.count + i, arena.allocateFrom(own.get(i)));
          }
          envArray.setAtIndex(ADDRESS, shared.count + own.size(), MemorySegment.NULL);
          MemorySegment pid = arena.allocate(JAVA_INT);
          int error =
              (int)
                  spawn.invokeExact(
                      pid,
                      arena.allocateFrom(executable.toString()),
                      actions,
                      attributes,
                      argvArray,
                      envArray);
          // The shared strings must outlive the call; only the array copied above points to them.
          java.lang.ref.Reference.reachabilityFence(shared);
          if (error != 0) {
            throw new IOException(describe(error));
          }
          return new SpawnedProcess(
              this,
              pid.get(JAVA_INT, 0),
              outPipe == null ? -1 : outPipe[0],
              errPipe == null ? -1 : errPipe[0]);
        } finally {
          int ignored = (int) actionsDestroy.invokeExact(actions);
        }
      } finally {
        closeQuietly(outPipe == null ? -1 : outPipe[1]);
        closeQuietly(errPipe == null ? -1 : errPipe[1]);
      }
    } catch (IOException | RuntimeException | Error e) {
      closeQuietly(outPipe == null ? -1 : outPipe[0]);
      closeQuietly(errPipe == null ? -1 : errPipe[0]);
      throw e;
    } catch (Throwable e) {
      closeQuietly(outPipe == null ? -1 : outPipe[0]);
      closeQuietly(errPipe == null ? -1 : errPipe[0]);
      throw new IllegalStateException(e);
    }
  }

  private void addOutput(Arena arena, MemorySegment actions, int fd, Output output, int[] pipe)
      throws Throwable {
    switch (output) {
      case Output.Pipe p -> check((int) actionsDup2.invokeExact(actions, pipe[1], fd), "adddup2");
      case Output.Discard d ->
          check(
              (int)
                  actionsOpen.invokeExact(
                      actions, fd, arena.allocateFrom("/dev/null"), O_WRONLY, 0),
              "addopen");
      case Output.File f ->
          check(
              (int)
                  actionsOpen.invokeExact(
                      actions,
                      fd,
                      arena.allocateFrom(f.path().toString()),
                      // The worker created or checked the file just before; a link put there since
                      // fails the start instead of being followed.
                      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
                      0666),
              "addopen");
      case Output.SameAsStdout s -> check((int) actionsDup2.invokeExact(actions, 1, fd), "adddup2");
    }
  }

  private static MemorySegment stringArray(Arena arena, List<String> strings) {
    MemorySegment array = arena.allocate(ADDRESS, strings.size() + 1L);
    for (int i = 0; i < strings.size(); i++) {
      array.setAtIndex(ADDRESS, i, arena.allocateFrom(strings.get(i)));
    }
    array.setAtIndex(ADDRESS, strings.size(), MemorySegment.NULL);
    return array;
  }

  private int[] newPipe(Arena arena) throws Throwable {
    MemorySegment fds = arena.allocate(JAVA_INT, 2);
    if ((int) pipe2.invokeExact(fds, O_CLOEXEC) != 0) {
      throw new IOException("cannot create a pipe");
    }
    return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
  }

  /** Native read buffers of the threads that read pipes (pooled threads, one stream at a time). */
  private static final ThreadLocal<MemorySegment> READ_BUFFER =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8192));

  private static final ThreadLocal<MemorySegment> READ_STATE =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

  /**
   * The read end of a pipe, read with read(2) itself. The JDK offers no public way to wrap a raw
   * descriptor; opening /proc/self/fd/N for a FileInputStream instead cost a path lookup in procfs
   * and two more descriptors' open and close for every job.
   */
  private static final class PipeInputStream extends InputStream {
    private final NativeSpawner spawner;
    private final int fd;
    private final java.util.concurrent.atomic.AtomicBoolean closed =
        new java.util.concurrent.atomic.AtomicBoolean();

    PipeInputStream(NativeSpawner spawner, int fd) {
      this.spawner = spawner;
      this.fd = fd;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] bytes, int offset, int length) throws IOException {
      java.util.Objects.checkFromIndexSize(offset, length, bytes.length);
      if (length == 0) {
        return 0;
      }
      if (closed.get()) {
        throw new IOException("stream closed");
      }
      MemorySegment buffer = READ_BUFFER.get();
      MemorySegment state = READ_STATE.get();
      while (true) {
        long count;
        try {
          count =
              (long)
                  spawner.read.invokeExact(
                      state, fd, buffer, Math.min((long) length, buffer.byteSize()));
        } catch (Throwable e) {
          throw new IllegalStateException(e);
        }
        if (count > 0) {
          MemorySegment.copy(
              buffer, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes, offset, (int) count);
          return (int) count;
        }
        if (count == 0) {
          return -1;
        }
        int errno = (int) ERRNO.get(state, 0L);
        if (errno != EINTR) {
          throw new IOException("reading the job's output failed: " + spawner.describe(errno));
        }
      }
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        spawner.closeQuietly(fd);
      }
    }
  }

  private void closeQuietly(int fd) {
    if (fd >= 0) {
      try {
        int ignored = (int) close.invokeExact(fd);
      } catch (Throwable ignored) {
        // nothing left to release
      }
    }
  }

  private static void check(int result, String what) {
    if (result != 0) {
      throw new IllegalStateException(what + " failed: " + result);
    }
  }

  String describe(int errno) {
    try {
      MemorySegment text = (MemorySegment) strerror.invokeExact(errno);
      return text.reinterpret(256).getString(0).toLowerCase(java.util.Locale.ROOT);
    } catch (Throwable e) {
      return "error " + errno;
    }
  }

  /**
   * A process descriptor of the child, which poll(2) reports readable once it ended; -1 if none.
   */
  int openPidfd(int pid) {
    if (pidfdOpen == null) {
      return -1;
    }
    try {
      return (int) pidfdOpen.invokeExact(pid, 0);
    } catch (Throwable e) {
      return -1;
    }
  }

  private static final short POLLIN = 0x1;
  private static final ThreadLocal<byte[]> CHUNK = ThreadLocal.withInitial(() -> new byte[8192]);

  /** Where watch puts what a captured stream delivers. */
  interface Sink {
    void write(byte[] bytes, int offset, int length);
  }

  /**
   * Reads the child's captured streams into their sinks and reaps it, all on one thread at a time:
   * one poll(2) over both pipes and the pidfd instead of a thread blocked on each (handing three
   * tasks to pooled threads for every job cost more than the reading). onExit runs as soon as the
   * child has ended; the pipes are then read for at most drain more, since a background child may
   * hold them open, and are left to a reader of their own if still open after that. Takes over
   * pidfd and the pipes' read ends.
   *
   * <p>It can stop waiting before the child ends and be carried on later, on another thread: the
   * thread that started a job watches it for a few milliseconds, which is the whole life of a quick
   * job, and hands a longer job to a pooled thread. A hand-over for every job cost two thread
   * wake-ups, as much as the rest of watching.
   */
  final class Watch {
    static final long NEVER = Long.MAX_VALUE;

    private final SpawnedProcess process;
    private final int[] fds;
    private final Sink[] sinks;
    private final java.time.Duration drain;
    private final Runnable onExit;
    private final java.util.concurrent.Executor leftovers;
    private int raw = -1;
    private boolean exited;
    private long drainDeadline;

    Watch(
        SpawnedProcess process,
        int pidfd,
        Sink stdout,
        Sink stderr,
        java.time.Duration drain,
        Runnable onExit,
        java.util.concurrent.Executor leftovers) {
      this.process = process;
      this.fds = new int[] {process.stdoutFd(), process.stderrFd(), pidfd};
      this.sinks = new Sink[] {stdout, stderr, null};
      this.drain = drain;
      this.onExit = onExit;
      this.leftovers = leftovers;
    }

    /** The raw wait status, once {@link #runUntil} returned true. */
    int rawStatus() {
      return raw;
    }

    /**
     * Watches until the child is reaped (true), or until System.nanoTime() passes giveUpAt while
     * the child still runs (false: nothing is closed, and a later call carries on).
     */
    boolean runUntil(long giveUpAt) {
      MemorySegment state = READ_STATE.get();
      MemorySegment buffer = READ_BUFFER.get();
      byte[] chunk = CHUNK.get();
      boolean finished = false;
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment pollFds = arena.allocate(8L * fds.length, 4);
        int[] polled = new int[fds.length];
        while (true) {
          int count = 0;
          for (int i = 0; i < fds.length; i++) {
            if (fds[i] >= 0) {
              pollFds.set(JAVA_INT, 8L * count, fds[i]);
              pollFds.set(JAVA_SHORT, 8L * count + 4, POLLIN);
              pollFds.set(JAVA_SHORT, 8L * count + 6, (short) 0);
              polled[count++] = i;
            }
          }
          if (count == 0) {
            break;
          }
          int timeout = -1;
          if (exited) {
            long left = TimeUnit.NANOSECONDS.toMillis(drainDeadline - System.nanoTime());
            if (left <= 0) {
              break;
            }
            timeout = (int) Math.min(left, Integer.MAX_VALUE);
          } else if (giveUpAt != NEVER) {
            long left = giveUpAt - System.nanoTime();
            if (left <= 0) {
              return false;
            }
            // Rounded up: poll would otherwise return at once for the last part of a millisecond.
            timeout = (int) Math.min((left + 999_999) / 1_000_000, Integer.MAX_VALUE);
          }
          int ready = (int) poll.invokeExact(state, pollFds, (long) count, timeout);
          if (ready < 0) {
            if ((int) ERRNO.get(state, 0L) == EINTR) {
              continue;
            }
            throw new IllegalStateException("poll failed: " + describe((int) ERRNO.get(state, 0L)));
          }
          for (int n = 0; n < count; n++) {
            if (pollFds.get(JAVA_SHORT, 8L * n + 6) == 0) {
              continue;
            }
            int i = polled[n];
            if (i == 2) {
              raw = waitFor(process.pid);
              exited = true;
              drainDeadline = System.nanoTime() + drain.toNanos();
              closeQuietly(fds[2]);
              fds[2] = -1;
              onExit.run();
              continue;
            }
            long read =
                (long)
                    NativeSpawner.this.read.invokeExact(state, fds[i], buffer, buffer.byteSize());
            if (read > 0) {
              MemorySegment.copy(
                  buffer, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, chunk, 0, (int) read);
              if (sinks[i] != null) {
                sinks[i].write(chunk, 0, (int) read);
              }
            } else if (read == 0 || (int) ERRNO.get(state, 0L) != EINTR) {
              closeQuietly(fds[i]);
              fds[i] = -1;
            }
          }
        }
        finished = true;
      } catch (RuntimeException | Error e) {
        finished = true;
        throw e;
      } catch (Throwable e) {
        finished = true;
        throw new IllegalStateException(e);
      } finally {
        if (finished) {
          closeLeftovers();
        }
      }
      if (!exited) {
        raw = waitFor(process.pid);
        onExit.run();
      }
      process.reaped(raw);
      return true;
    }

    private void closeLeftovers() {
      if (fds[2] >= 0) {
        closeQuietly(fds[2]);
        fds[2] = -1;
      }
      for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0) {
          // Still held open by a background child: read on (and drop) until it closes, so that
          // it does not die of SIGPIPE for writing to a pipe nobody reads.
          InputStream open = new PipeInputStream(NativeSpawner.this, fds[i]);
          fds[i] = -1;
          leftovers.execute(
              () -> {
                try (open) {
                  open.transferTo(OutputStream.nullOutputStream());
                } catch (IOException ignored) {
                  // the stream is closed either way
                }
              });
        }
      }
    }
  }

  /** Blocks until the child ends; returns the raw wait status. */
  int waitFor(int pid) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment status = arena.allocate(JAVA_INT);
      while (true) {
        int result = (int) waitpid.invokeExact(pid, status, 0);
        if (result == pid) {
          return status.get(JAVA_INT, 0);
        }
        if (result == -1) {
          // EINTR is the only expected failure; anything else means the child is already reaped.
          if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return -1;
          }
        }
      }
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  void signal(int pid, int signal) {
    try {
      int ignored = (int) kill.invokeExact(pid, signal);
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  /** A child started by posix_spawn, seen through the JDK's Process interface. */
  static final class SpawnedProcess extends Process {
    private final NativeSpawner spawner;
    private final int pid;
    private final InputStream stdout;
    private final InputStream stderr;
    private final int stdoutFd;
    private final int stderrFd;
    private final CompletableFuture<Integer> status = new CompletableFuture<>();

    SpawnedProcess(NativeSpawner spawner, int pid, int stdoutFd, int stderrFd) {
      this.spawner = spawner;
      this.pid = pid;
      this.stdoutFd = stdoutFd;
      this.stderrFd = stderrFd;
      this.stdout =
          stdoutFd < 0 ? InputStream.nullInputStream() : new PipeInputStream(spawner, stdoutFd);
      this.stderr =
          stderrFd < 0 ? InputStream.nullInputStream() : new PipeInputStream(spawner, stderrFd);
    }

    /**
     * The read end of the stdout pipe, -1 when not captured. Read either through {@link
     * #getInputStream()} or by {@link NativeSpawner#watch}, never both.
     */
    int stdoutFd() {
      return stdoutFd;
    }

    /** Like {@link #stdoutFd()}, for stderr. */
    int stderrFd() {
      return stderrFd;
    }

    NativeSpawner spawner() {
      return spawner;
    }

    /** A pidfd of the process for {@link NativeSpawner#watch}, or -1 where the system has none. */
    int openPidfd() {
      return spawner.openPidfd(pid);
    }

    /** Reaped by {@link NativeSpawner#watch} with this raw wait status. */
    void reaped(int raw) {
      status.complete(raw);
    }

    @Override
    public OutputStream getOutputStream() {
      return OutputStream.nullOutputStream();
    }

    @Override
    public InputStream getInputStream() {
      return stdout;
    }

    @Override
    public InputStream getErrorStream() {
      return stderr;
    }

    /** Must be called by one thread only: it reaps the child. */
    @Override
    public int waitFor() {
      if (!status.isDone()) {
        status.complete(spawner.waitFor(pid));
      }
      return exitValue();
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
      try {
        status.get(timeout, unit);
        return true;
      } catch (java.util.concurrent.TimeoutException e) {
        return false;
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Like the JDK: the exit code, or 128 + the signal that ended the process. */
    @Override
    public int exitValue() {
      if (!status.isDone()) {
        throw new IllegalThreadStateException("process " + pid + " has not exited");
      }
      Integer signal = terminatingSignal();
      return signal != null ? 128 + signal : (status.join() >> 8) & 0xff;
    }

    /** The signal that ended the process, or null when it exited normally. */
    Integer terminatingSignal() {
      int raw = status.join();
      int signal = raw & 0x7f;
      return raw != -1 && signal != 0 && signal != 0x7f ? signal : null;
    }

    @Override
    public boolean isAlive() {
      return !status.isDone();
    }

    @Override
    public void destroy() {
      if (!status.isDone()) {
        spawner.signal(pid, 15);
      }
    }

    @Override
    public Process destroyForcibly() {
      if (!status.isDone()) {
        spawner.signal(pid, 9);
      }
      return this;
    }

    @Override
    public long pid() {
      return pid;
    }

    /**
     * Signals the job's whole process group (its pid is the group id), and descendants that left
     * the group while the leader still lives.
     */
    void signalGroup(int signal) {
      // The group first: the kernel queues the signal for all its members at once, so the shell
      // of a job dies of it instead of seeing its child die and exiting with 128+signal.
      List<ProcessHandle> descendants =
          ProcessHandle.of(pid).map(leader -> leader.descendants().toList()).orElse(List.of());
      spawner.signal(-pid, signal);
      descendants.forEach(child -> spawner.signal((int) child.pid(), signal));
    }

    @Override
    public ProcessHandle toHandle() {
      return ProcessHandle.of(pid)
          .orElseThrow(() -> new IllegalStateException("process " + pid + " is gone"));
    }
  }
}
