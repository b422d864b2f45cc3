package kueue.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies the write-ahead log back into the database file on a thread of its own. SQLite's automatic
 * checkpoint runs inside the commit that crosses its threshold, on the writing thread, which is the
 * server's scheduler thread: every few thousand pages one commit took a whole checkpoint and its
 * fsyncs, and jobs waited. The writer has automatic checkpoints turned off, and this thread
 * checkpoints shortly after commits instead, with its own connection, PASSIVE (never blocking the
 * writer or the readers).
 *
 * <p>With {@code synchronous=NORMAL} the checkpoint is also when the log reaches the disk, so
 * checkpointing within {@link #INTERVAL} of a commit keeps the window that a power loss could take
 * short, where the automatic checkpoint left it open until enough pages had been written.
 */
final class WalCheckpoints implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WalCheckpoints.class);

  /** The least time between two checkpoints: commits in between share one. */
  static final Duration INTERVAL = Duration.ofMillis(200);

  private final Connection connection;
  private final String databaseName;
  private final Thread thread;
  private volatile boolean written;
  private volatile boolean closed;
  private volatile long completed;

  WalCheckpoints(Connection connection, String databaseName) {
    this.connection = connection;
    this.databaseName = databaseName;
    this.thread = Thread.ofPlatform().daemon().name("wal-checkpoints").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Called after each commit. */
  void written() {
    if (!written) {
      written = true;
      LockSupport.unpark(thread);
    }
  }

  /** How many checkpoints have run, for tests. */
  long completed() {
    return completed;
  }

  private void run() {
    boolean failing = false;
    while (!closed) {
      if (!written) {
        LockSupport.park(this);
        continue;
      }
      written = false;
      try (Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA wal_checkpoint(PASSIVE)");
        completed++;
        if (failing) {
          log.info("checkpoints of {} work again", databaseName);
          failing = false;
        }
      } catch (SQLException e) {
        if (closed) {
          return;
        }
        // The log keeps everything meanwhile; the next commit tries again.
        if (!failing) {
          log.warn("checkpoint of {} failed: {}", databaseName, e.getMessage());
          failing = true;
        }
      }
      // Commits meanwhile unpark this thread; they wait for the next checkpoint all the same.
      long until = System.nanoTime() + INTERVAL.toNanos();
      for (long left = INTERVAL.toNanos(); left > 0 && !closed; left = until - System.nanoTime()) {
        LockSupport.parkNanos(this, left);
      }
    }
  }

  /** Stops the thread and closes its connection; the writer's close does the last checkpoint. */
  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(thread);
    try {
      thread.join(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      connection.close();
    } catch (SQLException ignored) {
      // Only read-write for checkpoints; the writer's connection holds the data.
    }
  }
}
