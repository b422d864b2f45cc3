package kueue.client.daemon;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon's side of {@link PipeChannel}: keeps {@code size} pairs of named pipes ready, each
 * with a thread waiting for a relay to open it, and hands each opened pair to the daemon.
 *
 * <p>Pipes are made once per pair and deleted as soon as both ends are open, so a pair serves one
 * command and its names are never reused: a relay that claimed a pair and then stalled can never
 * write into another relay's command. A pair whose token was claimed but which no relay opened
 * within {@link #CLAIM_LIMIT} (the relay was killed in between) is given up and replaced ({@link
 * #sweep}).
 */
final class PipePool {
  /** How long a claimed pair may wait for its relay to open it. */
  static final Duration CLAIM_LIMIT = Duration.ofSeconds(10);

  /** Receives each pair once the relay and the daemon both have it open. */
  interface Connections {
    void accepted(InputStream fromRelay, OutputStream toRelay);
  }

  private final File directory;
  private final File spare;
  private final int size;
  private final Connections connections;
  private final MethodHandle mkfifo;
  private final AtomicLong nextName = new AtomicLong();
  private final Map<String, Waiting> waiting = new ConcurrentHashMap<>();
  private volatile boolean stopped;

  /** A pair with a thread blocked opening it. */
  private static final class Waiting {
    volatile boolean cancelled;

    /** When {@link #sweep} first saw its token gone; only the sweeping thread uses it. */
    long claimSeenNanos = -1;

    /** Set when its thread no longer opens anything; guarded by this. */
    private boolean done;

    /**
     * Both pipes held open for reading and writing once cancelled, so that the thread's open
     * returns even if it comes only after the cancel; closed when the thread is done. Guarded by
     * this.
     */
    private final List<FileChannel> wakers = new ArrayList<>();

    synchronized void keepAwake(FileChannel waker) throws IOException {
      if (done) {
        waker.close();
      } else {
        wakers.add(waker);
      }
    }

    synchronized void finish() {
      done = true;
      for (FileChannel waker : wakers) {
        try {
          waker.close();
        } catch (IOException ignored) {
          // Only ever opened to wake the thread.
        }
      }
      wakers.clear();
    }
  }

  private PipePool(File directory, int size, Connections connections, MethodHandle mkfifo) {
    this.directory = directory;
    this.spare = new File(directory, PipeChannel.SPARE);
    this.size = size;
    this.connections = connections;
    this.mkfifo = mkfifo;
  }

  /**
   * Makes the directory afresh (what a killed daemon left there is removed) and its first pairs.
   * The caller holds the daemon's lock, so no other daemon uses the directory.
   */
  static PipePool start(File directory, int size, Connections connections) throws IOException {
    MethodHandle mkfifo;
    try {
      Linker linker = Linker.nativeLinker();
      mkfifo =
          linker.downcallHandle(
              linker
                  .defaultLookup()
                  .find("mkfifo")
                  .orElseThrow(() -> new IOException("no mkfifo in the C library")),
              FunctionDescriptor.of(
                  ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    } catch (RuntimeException e) {
      throw new IOException("cannot call mkfifo: " + e.getMessage(), e);
    }
    deleteTree(directory);
    if (!directory.mkdir() || !new File(directory, PipeChannel.SPARE).mkdir()) {
      throw new IOException("cannot create " + directory);
    }
    PipePool pool = new PipePool(directory, size, connections, mkfifo);
    for (int i = 0; i < size; i++) {
      pool.addPair();
    }
    return pool;
  }

  /** The number of pairs ready or claimed and not yet open. */
  int waitingCount() {
    return waiting.size();
  }

  private void addPair() throws IOException {
    // With this process's id, so that not even a relay that stalled across a daemon's restart
    // can open a pair of the next daemon, which starts counting anew.
    String name = ProcessHandle.current().pid() + "-" + nextName.incrementAndGet();
    makePipe(PipeChannel.toDaemonPipe(directory, name));
    makePipe(PipeChannel.fromDaemonPipe(directory, name));
    Waiting pair = new Waiting();
    waiting.put(name, pair);
    Thread.ofPlatform().daemon().name("relay-pipe-" + name).start(() -> await(name, pair));
    // The token last: a relay may open the pipes at once, and the thread waits on them already or
    // will, since their names never change.
    if (!new File(spare, name).createNewFile()) {
      throw new IOException("token " + name + " exists already");
    }
  }

  private void makePipe(File path) throws IOException {
    int result;
    try (Arena arena = Arena.ofConfined()) {
      result = (int) mkfifo.invokeExact(arena.allocateFrom(path.getPath()), 0600);
    } catch (Throwable e) {
      throw new IOException("mkfifo " + path + ": " + e, e);
    }
    if (result != 0) {
      throw new IOException("mkfifo " + path + " failed");
    }
  }

  /** One pair's thread: waits for its relay, then hands the open pair on. */
  private void await(String name, Waiting pair) {
    File toDaemon = PipeChannel.toDaemonPipe(directory, name);
    File fromDaemon = PipeChannel.fromDaemonPipe(directory, name);
    InputStream fromRelay = null;
    OutputStream toRelay = null;
    try {
      fromRelay = new FileInputStream(toDaemon);
      if (!pair.cancelled) {
        toRelay = new FileOutputStream(fromDaemon);
      }
    } catch (IOException e) {
      if (!stopped && !pair.cancelled) {
        CliDaemon.log("relay pipe " + name + ": " + e.getMessage());
      }
    } finally {
      waiting.remove(name);
      pair.finish();
      toDaemon.delete();
      fromDaemon.delete();
    }
    if (toRelay != null && !pair.cancelled) {
      connections.accepted(fromRelay, toRelay);
    } else {
      closeQuietly(fromRelay);
      closeQuietly(toRelay);
    }
    if (!stopped) {
      try {
        addPair();
      } catch (IOException e) {
        CliDaemon.log("cannot make a new relay pipe: " + e.getMessage());
      }
    }
  }

  /**
   * Gives up the pairs whose token has been gone for longer than {@link #CLAIM_LIMIT} without their
   * relay opening them. Called every second or so with the current time.
   */
  void sweep(long nowNanos) {
    for (Map.Entry<String, Waiting> entry : waiting.entrySet()) {
      Waiting pair = entry.getValue();
      if (new File(spare, entry.getKey()).exists()) {
        pair.claimSeenNanos = -1;
      } else if (pair.claimSeenNanos < 0) {
        pair.claimSeenNanos = nowNanos;
      } else if (nowNanos - pair.claimSeenNanos > CLAIM_LIMIT.toNanos()) {
        cancel(entry.getKey(), pair);
      }
    }
  }

  /** Stops handing out pairs and lets their threads end. */
  void stop() {
    stopped = true;
    String[] tokens = spare.list();
    if (tokens != null) {
      for (String token : tokens) {
        new File(spare, token).delete();
      }
    }
    waiting.forEach(this::cancel);
    deleteTree(directory);
  }

  /**
   * Wakes the pair's thread wherever it blocks, now or later: opening a pipe for reading and
   * writing at once never blocks on Linux, and while it is open the thread's opens complete from
   * either side.
   */
  private void cancel(String name, Waiting pair) {
    pair.cancelled = true;
    for (File pipe :
        new File[] {
          PipeChannel.toDaemonPipe(directory, name), PipeChannel.fromDaemonPipe(directory, name)
        }) {
      try {
        // Without CREATE: a pipe deleted meanwhile must not come back as a plain file.
        pair.keepAwake(
            FileChannel.open(pipe.toPath(), StandardOpenOption.READ, StandardOpenOption.WRITE));
      } catch (IOException goneMeanwhile) {
        // Its thread has the pipe open and deleted it already.
      }
    }
  }

  private static void deleteTree(File file) {
    File[] children = file.listFiles();
    if (children != null) {
      for (File child : children) {
        deleteTree(child);
      }
    }
    file.delete();
  }

  static void closeQuietly(java.io.Closeable closeable) {
    if (closeable != null) {
      try {
        closeable.close();
      } catch (IOException ignored) {
        // Nothing was sent on it.
      }
    }
  }
}
