package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.core.Event;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.store.SqliteJobStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database the server cannot trust stops kueue_server at once with one clear line and a non-zero
 * exit code, instead of a stack trace or, worse, silently starting over.
 */
class DatabaseErrorsTest {
  @TempDir Path home;

  private Path database() {
    return home.resolve("data").resolve("kueue.db");
  }

  /** A real database with some jobs in it, as a server would have left it. */
  private void writeDatabase(int jobs) {
    writeDatabase(jobs, Instant.parse("2026-01-01T00:00:00Z"));
  }

  private void writeDatabase(int jobs, Instant now) {
    try (SqliteJobStore store = SqliteJobStore.open(home.resolve("data"))) {
      List<Event> events = new ArrayList<>();
      for (int id = 1; id <= jobs; id++) {
        events.add(
            new Event.JobQueued(
                id,
                JobSpecBuilder.builder()
                    .argv(List.of("echo", "x".repeat(200)))
                    .cwd("/tmp")
                    .env(Map.of())
                    .slots(1)
                    .cpus(1)
                    .ramMb(1)
                    .globalResources(Map.of())
                    .build(),
                now));
        events.add(
            new Event.JobEnded(
                id,
                0,
                new JobOutcome(0, null, null, now, now),
                new CapturedOutput("y".repeat(500), 0),
                CapturedOutput.EMPTY,
                now));
      }
      store.persist(events);
    }
  }

  private Fleet.Result startServer(Fleet fleet) throws Exception {
    Path config = fleet.config("server", Fleet.SECRET, Map.of());
    Process server = fleet.start("server", "kueue.server.ServerMain", "-c", config.toString());
    assertThat(server.waitFor(60, TimeUnit.SECONDS)).as("the server gave up by itself").isTrue();
    return new Fleet.Result(server.exitValue(), fleet.log("server"), "");
  }

  private static void assertOneClearLine(Fleet.Result result, String expected) {
    assertOneClearLine(result, "cannot start: ", expected);
  }

  private static void assertOneClearLine(Fleet.Result result, String prefix, String expected) {
    assertThat(result.exitCode()).as(result.out()).isNotZero();
    List<String> errors = result.out().lines().filter(line -> line.contains("ERROR")).toList();
    assertThat(errors).as(result.out()).hasSize(1);
    assertThat(errors.getFirst()).contains(prefix).contains("kueue.db").contains(expected);
    assertThat(result.out()).doesNotContain("\tat ").doesNotContain("Exception");
  }

  /** Overwrites every third page in the middle: the header stays readable, the b-trees do not. */
  private void damage() throws Exception {
    long size = Files.size(database());
    try (RandomAccessFile file = new RandomAccessFile(database().toFile(), "rw")) {
      byte[] junk = new byte[4096];
      java.util.Arrays.fill(junk, (byte) 0x5A);
      for (long at = 4096 * 2; at < size - 4096; at += 4096 * 3) {
        file.seek(at);
        file.write(junk);
      }
    }
  }

  @Test
  void aFileThatIsNotADatabaseStopsTheServerWithOneLine() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      Files.write(database(), "this is not a database at all\n".repeat(200).getBytes());

      assertOneClearLine(startServer(fleet), "kueue.db");
    }
  }

  @Test
  void aDamagedDatabaseStopsTheServerWithOneLine() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      writeDatabase(400);
      damage();

      assertOneClearLine(startServer(fleet), "damaged");
    }
  }

  /**
   * Closed cleanly, then damaged where the start does not read (the jobs' captured output): the
   * whole-file check, which runs while the server already serves, finds it and stops the server.
   */
  @Test
  void damageTheStartDoesNotReadStopsTheServerOnceTheCheckFindsIt() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      // Ended just now, so that no expiry touches the history while the check runs.
      writeDatabase(400, Instant.now());
      List<Long> pages = new ArrayList<>();
      try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database());
          Statement statement = connection.createStatement();
          java.sql.ResultSet rows =
              statement.executeQuery(
                  "SELECT pageno FROM dbstat WHERE name = 'outputs' AND pagetype = 'leaf'")) {
        while (rows.next()) {
          pages.add(rows.getLong(1));
        }
      }
      assertThat(pages).hasSizeGreaterThan(2);
      try (RandomAccessFile file = new RandomAccessFile(database().toFile(), "rw")) {
        byte[] junk = new byte[4096];
        java.util.Arrays.fill(junk, (byte) 0x5A);
        file.seek((pages.get(pages.size() / 2) - 1) * 4096);
        file.write(junk);
      }

      assertOneClearLine(startServer(fleet), "stopping: ", "is damaged");
    }
  }

  /**
   * Left open when its machine crashed: the check comes before the first write, and the start
   * fails.
   */
  @Test
  void aDamagedDatabaseLeftByACrashedMachineIsNeverWrittenTo() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      writeDatabase(400);
      damage();
      // What a crash leaves behind besides the database: SQLite's write-ahead log, and the id of
      // a boot before the current one.
      Files.createFile(home.resolve("data").resolve("kueue.db-wal"));
      Files.writeString(
          home.resolve("data").resolve("kueue.boot"), "00000000-0000-0000-0000-000000000000\n");
      byte[] damaged = Files.readAllBytes(database());

      assertOneClearLine(startServer(fleet), "is damaged");
      assertThat(Files.readAllBytes(database())).isEqualTo(damaged);
    }
  }

  @Test
  void aDatabaseOfANewerKueueStopsTheServerWithOneLine() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      writeDatabase(3);
      try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database());
          Statement statement = connection.createStatement()) {
        statement.execute("PRAGMA user_version = 99");
      }

      assertOneClearLine(startServer(fleet), "newer Kueue");
    }
  }
}
