package kueue.worker;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The system calls that make the worker the child subreaper of its jobs' processes
 * (prctl(PR_SET_CHILD_SUBREAPER)): a process a job leaves behind whose parent ends is handed to the
 * worker instead of to init, so it stays a descendant of the worker, where {@link Leftovers} finds
 * it, and the worker must collect its exit status. Through the JDK's foreign function API; empty
 * where the system lacks any of it (then nothing changes: leftovers go to init as before).
 */
final class Subreaper {
  private static final Logger log = LoggerFactory.getLogger(Subreaper.class);

  private static final int PR_SET_CHILD_SUBREAPER = 36;
  private static final int P_ALL = 0;
  private static final int WNOHANG = 1;
  private static final int WEXITED = 4;
  private static final int WNOWAIT = 0x01000000;

  /** siginfo_t is 128 bytes on Linux; si_pid is at offset 16 on 64-bit systems. */
  private static final long SIGINFO_BYTES = 128;

  private static final long SI_PID_OFFSET = 16;

  private final MethodHandle waitpid;
  private final MethodHandle waitid;
  private final MethodHandle kill;
  private final int sessionId;

  private Subreaper(SymbolLookup libc, Linker linker) throws Throwable {
    MethodHandle prctl =
        linker.downcallHandle(
            symbol(libc, "prctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    waitpid =
        linker.downcallHandle(
            symbol(libc, "waitpid"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    waitid =
        linker.downcallHandle(
            symbol(libc, "waitid"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    kill =
        linker.downcallHandle(
            symbol(libc, "kill"), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    MethodHandle getsid =
        linker.downcallHandle(symbol(libc, "getsid"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    sessionId = (int) getsid.invokeExact(0);
    if ((int) prctl.invokeExact(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0) {
      throw new UnsupportedOperationException("prctl(PR_SET_CHILD_SUBREAPER) failed");
    }
  }

  private static MemorySegment symbol(SymbolLookup libc, String name) {
    return libc.find(name)
        .orElseThrow(() -> new UnsupportedOperationException("no " + name + " in libc"));
  }

  /**
   * Makes this process the subreaper of its descendants, if the system allows: only processes
   * started after this call are handed to it.
   */
  static Optional<Subreaper> become() {
    if (!System.getProperty("os.name", "").equals("Linux")
        || Boolean.getBoolean("kueue.worker.noSubreaper")) {
      return Optional.empty();
    }
    try {
      Linker linker = Linker.nativeLinker();
      return Optional.of(new Subreaper(linker.defaultLookup(), linker));
    } catch (Throwable e) {
      log.warn(
          "cannot become the subreaper of the jobs' processes ({}): what a job leaves behind"
              + " after it escaped its session is not ended",
          e.getMessage());
      return Optional.empty();
    }
  }

  /** The worker's own session: the JDK starts its helper processes in it, never a job. */
  long sessionId() {
    return sessionId;
  }

  /**
   * Whether some child of the worker has ended and waits to be collected, without collecting it:
   * one system call, so that the periodic check costs nothing while there is none.
   */
  boolean anyChildEnded() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment info = arena.allocate(SIGINFO_BYTES, 8);
      int result = (int) waitid.invokeExact(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT);
      return result == 0 && info.get(JAVA_INT, SI_PID_OFFSET) != 0;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Collects the exit status of one ended child, by its pid; true if it was collected. Only ever
   * called for a pid that {@link Leftovers} knows the JDK does not wait for.
   */
  boolean collect(long pid) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment status = arena.allocate(JAVA_INT);
      return (int) waitpid.invokeExact((int) pid, status, WNOHANG) == (int) pid;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  void signal(long pid, int signal) {
    try {
      int ignored = (int) kill.invokeExact((int) pid, signal);
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }
}
