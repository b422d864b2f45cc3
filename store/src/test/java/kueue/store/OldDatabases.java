package kueue.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/** Databases as an older version of Kueue left them, for the tests of their migration. */
final class OldDatabases {
  private OldDatabases() {}

  /**
   * Writes a database of the given schema version at file (the tables of version 1 and the
   * migrations up to that version), then runs the statements that fill it.
   */
  static void write(Path file, int version, String... statements) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement()) {
      for (String sql : Schema.CREATE) {
        statement.execute(sql);
      }
      for (List<String> migration : Schema.MIGRATIONS.subList(0, version - 1)) {
        for (String sql : migration) {
          statement.execute(sql);
        }
      }
      statement.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
      statement.execute("PRAGMA user_version = " + version);
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }
}
