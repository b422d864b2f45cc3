package kueue.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fixed set of read-only connections lent to one caller at a time. Readers are virtual threads in
 * the server, so connections cannot be bound to threads; a caller waits when all are lent out. Each
 * loan is one read transaction, so a reader sees one committed state across its queries.
 */
final class ReadConnections implements AutoCloseable {

  /** One loaned connection with its prepared statements, reused across loans. */
  static final class Loan {
    private final Connection connection;
    private final Map<String, PreparedStatement> statements = new HashMap<>();

    private Loan(Connection connection) {
      this.connection = connection;
    }

    PreparedStatement prepare(String sql) throws SQLException {
      PreparedStatement statement = statements.get(sql);
      if (statement == null) {
        statement = connection.prepareStatement(sql);
        statements.put(sql, statement);
      }
      statement.clearParameters();
      return statement;
    }

    /** A statement for one use, e.g. a pragma, which the caller closes. */
    java.sql.Statement createStatement() throws SQLException {
      return connection.createStatement();
    }
  }

  @FunctionalInterface
  interface Query<T> {
    T run(Loan loan) throws SQLException;
  }

  private static final long CLOSE_WAIT_SECONDS = 10;

  private final BlockingQueue<Loan> idle;
  private final List<Loan> all = new ArrayList<>();
  private final String databaseName;
  private volatile boolean closed;

  ReadConnections(List<Connection> connections, String databaseName) throws SQLException {
    this.databaseName = databaseName;
    this.idle = new ArrayBlockingQueue<>(connections.size());
    for (Connection connection : connections) {
      // Manual commit: a loan's queries share one snapshot, ended by commit() when it returns.
      connection.setAutoCommit(false);
      Loan loan = new Loan(connection);
      all.add(loan);
      idle.add(loan);
    }
  }

  <T> T read(Query<T> query) {
    Loan loan = borrow();
    try {
      T result = query.run(loan);
      loan.connection.commit();
      return result;
    } catch (SQLException e) {
      rollbackQuietly(loan, e);
      if (e instanceof org.sqlite.SQLiteException sqlite && isDamage(sqlite)) {
        throw new StoreException(
            databaseName
                + " is damaged ("
                + sqlite.getResultCode().message
                + "); restore it from a backup or move it away",
            e);
      }
      throw new StoreException("cannot read " + databaseName + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      rollbackQuietly(loan, e);
      throw e;
    } finally {
      idle.add(loan);
    }
  }

  /** SQLite found a page it cannot make sense of, or a file that is no database. */
  static boolean isDamage(org.sqlite.SQLiteException e) {
    int primary = e.getResultCode().code & 0xff;
    return primary == org.sqlite.SQLiteErrorCode.SQLITE_CORRUPT.code
        || primary == org.sqlite.SQLiteErrorCode.SQLITE_NOTADB.code;
  }

  private Loan borrow() {
    try {
      while (true) {
        if (closed) {
          throw new StoreException(databaseName + " is closed");
        }
        // A bounded wait so that a reader blocked on an exhausted pool notices close().
        Loan loan = idle.poll(100, TimeUnit.MILLISECONDS);
        if (loan != null) {
          if (closed) {
            idle.add(loan);
            throw new StoreException(databaseName + " is closed");
          }
          return loan;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException("interrupted while waiting to read " + databaseName, e);
    }
  }

  private static void rollbackQuietly(Loan loan, Exception cause) {
    try {
      loan.connection.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  /** Waits for lent connections to come back (bounded), then closes every connection. */
  @Override
  public void close() {
    closed = true;
    int returned = 0;
    try {
      while (returned < all.size() && idle.poll(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS) != null) {
        returned++;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Loan loan : all) {
      try {
        loan.connection.close();
      } catch (SQLException ignored) {
        // Closing a read-only connection loses nothing.
      }
    }
  }
}
