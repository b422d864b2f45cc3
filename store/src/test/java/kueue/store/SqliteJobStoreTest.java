package kueue.store;

import static kueue.store.Jobs.ENV;
import static kueue.store.Jobs.aSpec;
import static kueue.store.Jobs.aSpecWith;
import static kueue.store.Jobs.at;
import static kueue.store.Jobs.exited;
import static kueue.store.Jobs.offered;
import static kueue.store.Jobs.queued;
import static kueue.store.Jobs.ranToCompletion;
import static kueue.store.Jobs.started;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.BatchSummary;
import kueue.model.CapturedOutput;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobFilter;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class SqliteJobStoreTest extends JobStoreContract {

  @Override
  protected JobStore open(Path dataDirectory) {
    return SqliteJobStore.open(dataDirectory);
  }

  SqliteJobStore sqlite() {
    return (SqliteJobStore) store;
  }

  void reopen() {
    store.close();
    store = open(dataDirectory);
  }

  Path databaseFile() {
    return dataDirectory.resolve("kueue.db");
  }

  long countRows(String table) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + databaseFile());
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT count(*) FROM " + table)) {
      row.next();
      return row.getLong(1);
    }
  }

  void execute(Path file, String sql) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  @Test
  void retriedAttemptsStayInTheHistoryAndAWaitingRetryIsRestoredWithItsTime() {
    JobSpec spec = aSpec().withRetries(2).withRetryDelaySeconds(60L).withTimeLimitSeconds(90L);
    persist(new Event.JobQueued(1, spec, at(0)), offered(1, 1, "w1", 1), started(1, 1, 1));
    persist(
        new Event.JobRetried(
            1,
            1,
            new JobOutcome(3, null, null, at(1), at(2)),
            new CapturedOutput("first\n", 0),
            CapturedOutput.EMPTY,
            1,
            2,
            at(62),
            at(2)));

    reopen();

    assertThat(store.activeJobs())
        .singleElement()
        .satisfies(
            job -> {
              assertThat(job.state()).isEqualTo(JobState.PENDING);
              assertThat(job.retries()).isEqualTo(2);
              assertThat(job.retried()).isEqualTo(1);
              assertThat(job.retryDelaySeconds()).isEqualTo(60);
              assertThat(job.notBefore()).isEqualTo(at(62));
            });
    assertThat(store.spec(1).orElseThrow()).isEqualTo(spec);
    persist(offered(1, 2, "w2", 63), started(1, 2, 63), exited(1, 2, 0, 63, 64));
    JobDetail detail = detail(1);
    assertThat(detail.history())
        .extracting(JobEvent::what, JobEvent::attempt, JobEvent::detail)
        .containsExactly(
            tuple("submitted", 0, null),
            tuple("offered", 1, null),
            tuple("started", 1, null),
            tuple("ended", 1, "exit 3; retry 1 of 2 in 1m"),
            tuple("offered", 2, null),
            tuple("started", 2, null),
            tuple("ended", 2, "exit 0"));
    assertThat(detail.summary().exitCode()).isZero();
  }

  @Test
  void aTimedOutJobIsCountedAndListedOnItsOwn() {
    persist(queued(1, 0), offered(1, 1, "w1", 1), started(1, 1, 1));
    persist(
        new Event.JobTimedOut(
            1,
            1,
            new JobOutcome(null, 15, null, at(1), at(5), true),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY,
            at(5)));
    persist(ranToCompletion(2, 1, 0, 1));

    assertThat(store.stats(at(10)).timedOut()).isEqualTo(1);
    assertThat(store.stats(at(10)).failed()).isEqualTo(1);
    assertThat(store.list(0, List.of(JobFilter.TIMED_OUT)))
        .singleElement()
        .satisfies(
            job -> {
              assertThat(job.state()).isEqualTo(JobState.TIMED_OUT);
              assertThat(job.signal()).isEqualTo(15);
              assertThat(job.note()).isEqualTo(EventWriter.TIME_LIMIT_REACHED);
            });
    assertThat(store.clean(false)).as("kept like failed jobs").isZero();
    assertThat(store.clean(true)).isEqualTo(2);
  }

  @Test
  void aDatabaseOfVersion3KeepsItsJobsAndCountsAndTakesTimedOutJobs() throws Exception {
    store.close();
    java.nio.file.Files.delete(databaseFile());
    OldDatabases.write(
        databaseFile(),
        3,
        "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, submitted,"
            + " started, ended, exit_code, batch_id, array_index) VALUES"
            + " (1, 'FINISHED', '[\"a\"]', '/w', 1, 1, 10, 1, 1000, 2000, 5000, 0, 1, 7),"
            + " (2, 'RUNNING', '[\"b\"]', '/w', 1, 1, 10, 1, 1000, 2000, NULL, NULL, NULL,"
            + " NULL)",
        "UPDATE meta SET value = 3 WHERE key = 'next_job_id'");

    store = open(dataDirectory);

    JobStats stats = store.stats(at(0));
    assertThat(stats.succeeded()).isEqualTo(1);
    assertThat(stats.running()).isEqualTo(1);
    assertThat(store.summary(1).orElseThrow().arrayIndex()).isEqualTo(7);
    persist(
        new Event.JobTimedOut(
            2,
            1,
            new JobOutcome(null, 9, null, null, at(9), true),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY,
            at(9)));
    assertThat(store.stats(at(10)).timedOut()).isEqualTo(1);
    assertThat(store.stats(at(10)).running()).isZero();
    assertThat(store.list(0, List.of(JobFilter.TIMED_OUT))).extracting("id").containsExactly(2L);
  }

  @Test
  void openingCreatesAPrivateDirectoryAndDatabaseFile() throws Exception {
    Path nested = dataDirectory.resolve("state/kueue");
    try (SqliteJobStore other = SqliteJobStore.open(nested)) {
      assertThat(other.nextJobId()).isEqualTo(1);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(nested)))
          .isEqualTo("rwx------");
      assertThat(
              PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(nested.resolve("kueue.db"))))
          .isEqualTo("rw-------");
    }
  }

  @Test
  void committedPagesReachTheDatabaseFileInTheBackgroundWhileTheStoreIsOpen() throws Exception {
    long emptySize = Files.size(databaseFile());
    long logBefore =
        Files.exists(Path.of(databaseFile() + "-wal"))
            ? Files.size(Path.of(databaseFile() + "-wal"))
            : 0;
    // Far fewer pages than SQLite's own automatic checkpoint would wait for (1,000).
    for (long id = 1; id <= 20; id++) {
      persist(ranToCompletion(id, 0, 1, 2));
    }
    assertThat(Files.size(Path.of(databaseFile() + "-wal"))).isGreaterThan(logBefore);

    await()
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> Files.size(databaseFile()) > emptySize);
    assertThat(countRows("jobs")).isEqualTo(20);
  }

  @Test
  void eventsStoredInOneTransactionLeaveTheSameJobsAsEventsStoredOneByOne() {
    List<Event> events = new ArrayList<>();
    events.addAll(ranToCompletion(1, 0, 1, 2));
    // Ended without its own start time: the start comes from the started event.
    events.addAll(
        List.of(
            queued(2, 1),
            offered(2, 1, "w1", 1),
            started(2, 1, 3),
            new Event.JobEnded(
                2,
                1,
                new JobOutcome(null, 9, null, null, at(4)),
                CapturedOutput.EMPTY,
                new CapturedOutput("killed", 0),
                at(4))));
    events.addAll(
        List.of(
            queued(3, 1),
            offered(3, 1, "w1", 1),
            new Event.JobDeclined(3, 1, "w1", "busy", at(2)),
            offered(3, 2, "w2", 2),
            started(3, 2, 3)));
    events.addAll(
        List.of(
            queued(4, 1),
            offered(4, 1, "w1", 1),
            new Event.JobRequeued(4, 1, "worker lost", at(2)),
            offered(4, 2, "w2", 3)));
    events.addAll(List.of(queued(5, 1), offered(5, 1, "w1", 1)));
    events.addAll(List.of(queued(6, 1), new Event.JobCanceled(6, "removed", at(2))));
    // The same environment as another job's, in a map of its own.
    events.add(new Event.JobQueued(7, aSpecWith(List.of("b")), at(1)));

    store.persist(events);
    try (SqliteJobStore oneByOne = SqliteJobStore.open(dataDirectory.resolve("one-by-one"))) {
      for (Event event : events) {
        oneByOne.persist(List.of(event));
      }
      for (long id = 1; id <= 7; id++) {
        assertThat(store.detail(id)).as("job %d", id).isEqualTo(oneByOne.detail(id));
      }
      assertThat(store.list(0, List.of())).isEqualTo(oneByOne.list(0, List.of()));
      assertThat(store.stats(at(20))).isEqualTo(oneByOne.stats(at(20)));
      assertThat(store.activeJobs()).isEqualTo(oneByOne.activeJobs());
      assertThat(store.spec(7)).isEqualTo(oneByOne.spec(7));
    }
    assertThat(detail(2).summary().started()).isEqualTo(at(3));
  }

  @Test
  void everythingPersistedIsBackAfterReopening() {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("sim", "--out", "a b"))
            .cwd("/w")
            .env(ENV)
            .slots(2)
            .cpus(3)
            .ramMb(4096)
            .globalResources(Map.of("lic", 1))
            .stderr("e.txt")
            .build();
    persist(new Event.JobQueued(1, spec, at(0)));
    persist(ranToCompletion(2, 4, 1, 5));
    persist(
        queued(3, 1),
        offered(3, 1, "w1", 2),
        started(3, 1, 3),
        new Event.JobEnded(
            3,
            1,
            new JobOutcome(0, null, null, at(3), at(9)),
            new CapturedOutput("result=42\n", 0),
            new CapturedOutput("tail", 77),
            at(9)));
    persist(queued(4, 2), offered(4, 1, "w2", 3), started(4, 1, 4));
    JobDetail before = detail(3);
    JobStats statsBefore = store.stats(at(20));
    List<?> listBefore = store.list(0, List.of());

    reopen();

    assertThat(store.nextJobId()).isEqualTo(5);
    assertThat(store.spec(1)).contains(spec);
    assertThat(detail(3)).isEqualTo(before);
    assertThat(store.stats(at(20))).isEqualTo(statsBefore);
    assertThat(store.list(0, List.of())).isEqualTo(listBefore);
    assertThat(store.activeJobs()).extracting(r -> r.jobId()).containsExactly(1L, 4L);
  }

  @Test
  void idsContinueAfterTheNewestJobsWereCleanedAndExpired() {
    persist(ranToCompletion(1, 0, 0, 1));
    persist(ranToCompletion(2, 0, 0, 1));
    store.clean(false);
    reopen();
    assertThat(store.nextJobId()).isEqualTo(3);

    persist(ranToCompletion(3, 0, 0, 1));
    persist(new Event.FinishedJobsExpired(at(100)));
    reopen();

    assertThat(store.list(0, List.of())).isEmpty();
    assertThat(store.nextJobId()).isEqualTo(4);
  }

  @Test
  void jobsWithTheSameEnvironmentShareOneStoredCopy() {
    Map<String, String> other = new HashMap<>(ENV);
    other.put("OMP_NUM_THREADS", "4");
    List<Event> sweep = new ArrayList<>();
    for (long id = 1; id <= 100; id++) {
      sweep.add(queued(id, 0));
    }
    persist(sweep);
    persist(
        new Event.JobQueued(
            101,
            JobSpecBuilder.builder()
                .argv(List.of("x"))
                .cwd("/")
                .env(other)
                .slots(1)
                .cpus(1)
                .ramMb(1)
                .globalResources(Map.of())
                .build(),
            at(0)));
    persist(
        new Event.JobQueued(
            102,
            JobSpecBuilder.builder()
                .argv(List.of("x"))
                .cwd("/")
                .env(new HashMap<>(other))
                .slots(1)
                .cpus(1)
                .ramMb(1)
                .globalResources(Map.of())
                .build(),
            at(0)));

    assertThat(sqlite().storedEnvironments()).isEqualTo(2);
    assertThat(store.spec(50).orElseThrow().env()).isEqualTo(ENV);
    assertThat(store.spec(102).orElseThrow().env()).isEqualTo(other);
    assertThat(detail(101).envVariables()).isEqualTo(3);
  }

  @Test
  void anEnvironmentIsDeletedWithTheLastJobThatUsesIt() {
    Map<String, String> other = Map.of("ONLY", "here");
    persist(queued(1, 0), new Event.JobCanceled(1, "x", at(1)));
    persist(
        new Event.JobQueued(
            2,
            JobSpecBuilder.builder()
                .argv(List.of("x"))
                .cwd("/")
                .env(other)
                .slots(1)
                .cpus(1)
                .ramMb(1)
                .globalResources(Map.of())
                .build(),
            at(0)),
        new Event.JobCanceled(2, "x", at(1)));
    persist(queued(3, 0));
    assertThat(sqlite().storedEnvironments()).isEqualTo(2);

    store.clean(false);

    assertThat(sqlite().storedEnvironments()).isEqualTo(1);
    persist(
        new Event.JobQueued(
            4,
            JobSpecBuilder.builder()
                .argv(List.of("x"))
                .cwd("/")
                .env(other)
                .slots(1)
                .cpus(1)
                .ramMb(1)
                .globalResources(Map.of())
                .build(),
            at(0)));
    assertThat(store.spec(4).orElseThrow().env()).isEqualTo(other);
  }

  @Test
  void deletedJobsLeaveNoHistoryOrOutputBehind() throws Exception {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobEnded(
            1,
            1,
            new JobOutcome(0, null, null, at(2), at(3)),
            new CapturedOutput("out", 0),
            new CapturedOutput("err", 0),
            at(3)));
    persist(queued(2, 0), new Event.JobFailed(2, "gave up", at(1)));
    persist(queued(3, 0), offered(3, 1, "w1", 1));
    assertThat(countRows("outputs")).isEqualTo(2);

    persist(new Event.FinishedJobsExpired(at(10)));
    assertThat(countRows("outputs")).isZero();
    assertThat(countRows("job_events"))
        .as("job 2's failed line went with it; job 3's offered line is read from its row")
        .isZero();
    assertThat(countRows("jobs")).isEqualTo(1);
    assertThat(store.detail(3).orElseThrow().history())
        .extracting(JobEvent::what)
        .containsExactly("submitted", "offered");
  }

  @Test
  void theCountersAgreeWithTheJobsAfterEveryKindOfChange() throws Exception {
    Random random = new Random(7);
    long id = 0;
    List<Long> active = new ArrayList<>();
    for (int round = 0; round < 300; round++) {
      double t = round;
      switch (random.nextInt(6)) {
        case 0, 1 -> {
          id++;
          persist(queued(id, t));
          active.add(id);
        }
        case 2 -> {
          if (!active.isEmpty()) {
            long job = active.remove(random.nextInt(active.size()));
            persist(
                offered(job, 1, "w", t),
                started(job, 1, t),
                Jobs.exited(job, 1, random.nextInt(3), t, t + random.nextInt(100)));
          }
        }
        case 3 -> {
          if (!active.isEmpty()) {
            persist(new Event.JobCanceled(active.remove(0), "x", at(t)));
          }
        }
        case 4 -> store.clean(random.nextBoolean());
        default -> persist(new Event.FinishedJobsExpired(at(t - 50)));
      }
    }

    JobStats stats = store.stats(at(1000));
    for (JobFilter filter : JobFilter.values()) {
      long counted =
          switch (filter) {
            case PENDING -> stats.pending();
            case HELD -> stats.held();
            case WAITING -> stats.waiting();
            case OFFERED -> stats.offered();
            case RUNNING -> stats.running();
            case SUCCEEDED -> stats.succeeded();
            case FAILED -> stats.failed();
            case CANCELED -> stats.canceled();
            case TIMED_OUT -> stats.timedOut();
          };
      assertThat(counted).as(filter.name()).isEqualTo(store.list(0, List.of(filter)).size());
    }
    List<Double> runSeconds =
        store.list(0, List.of(JobFilter.SUCCEEDED, JobFilter.FAILED)).stream()
            .map(s -> (s.ended().toEpochMilli() - s.started().toEpochMilli()) / 1000.0)
            .toList();
    if (!runSeconds.isEmpty()) {
      assertThat(stats.averageRunSeconds())
          .isEqualTo(runSeconds.stream().mapToDouble(d -> d).average().orElseThrow());
    }
  }

  @Test
  void theWriteAheadLogIsCheckpointedWhileReadersComeAndGo() throws Exception {
    String bulkyOutput = "x".repeat(50_000);
    long id = 0;
    for (int batch = 0; batch < 40; batch++) {
      List<Event> events = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        id++;
        events.add(queued(id, batch));
        events.add(offered(id, 1, "w1", batch));
        events.add(
            new Event.JobEnded(
                id,
                1,
                new JobOutcome(0, null, null, at(batch), at(batch + 1)),
                new CapturedOutput(bulkyOutput, 0),
                CapturedOutput.EMPTY,
                at(batch + 1)));
      }
      long checkpoints = sqlite().checkpointsCompleted();
      persist(events);
      store.list(40, List.of());
      store.detail(id);
      store.stats(at(batch));
      store.spec(id);
      // Checkpoints run on their own thread, a moment after commits.
      await()
          .atMost(java.time.Duration.ofSeconds(30))
          .until(() -> sqlite().checkpointsCompleted() > checkpoints);
    }

    long written = 40L * 10 * bulkyOutput.length();
    long walSize = Files.size(dataDirectory.resolve("kueue.db-wal"));
    assertThat(Files.size(databaseFile())).isGreaterThan(written);
    assertThat(walSize)
        .as("a read that kept its snapshot open would stop the log from being reused")
        .isLessThan(written / 2);
  }

  @Test
  void aJobRunningWhenAnOlderVersionStoppedListsItsStoredLinesOnceAndTheEndAfterThem()
      throws Exception {
    persist(queued(1, 0));
    // As a database from before version 3 has it: every line of the attempt is a row.
    execute(
        databaseFile(),
        "UPDATE jobs SET state = 'RUNNING', attempt = 1, worker = 'w1',"
            + " started = "
            + at(2).toEpochMilli()
            + " WHERE id = 1");
    execute(
        databaseFile(),
        "INSERT INTO job_events (job_id, time, attempt, what, worker) VALUES"
            + " (1, "
            + at(1).toEpochMilli()
            + ", 1, 'offered', 'w1'),"
            + " (1, "
            + at(2).toEpochMilli()
            + ", 1, 'started', 'w1')");

    persist(exited(1, 1, 4, 2, 3));

    assertThat(store.detail(1).orElseThrow().history())
        .containsExactly(
            new JobEvent(at(0), 0, "submitted", null, null),
            new JobEvent(at(1), 1, "offered", "w1", null),
            new JobEvent(at(2), 1, "started", "w1", null),
            new JobEvent(at(3), 1, "ended", "w1", "exit 4"));
  }

  @Test
  void theSubmissionIsReadFromTheJobRowAndListedOnceEvenWhereAnOlderVersionStoredIt()
      throws Exception {
    store.persist(List.of(queued(1, 5), queued(2, 6)));
    store.persist(List.of(offered(1, 1, "w1", 7), started(1, 1, 7), exited(1, 1, 0, 7, 8)));
    assertThat(countRows("job_events"))
        .as("offered, started and ended of job 1 are read from its row, the submissions too")
        .isZero();
    // A database written by an earlier version has a history row for each submission.
    execute(
        databaseFile(),
        "INSERT INTO job_events (job_id, time, attempt, what)"
            + " VALUES (2, "
            + at(6).toEpochMilli()
            + ", 0, 'submitted')");

    assertThat(store.detail(1).orElseThrow().history())
        .extracting(JobEvent::what)
        .containsExactly("submitted", "offered", "started", "ended");
    assertThat(store.detail(1).orElseThrow().history().getFirst())
        .isEqualTo(new JobEvent(at(5), 0, "submitted", null, null));
    assertThat(store.detail(2).orElseThrow().history())
        .containsExactly(new JobEvent(at(6), 0, "submitted", null, null));
  }

  @Test
  void listingAndCountingUseIndexesInsteadOfScanningAllJobs() throws Exception {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + databaseFile())) {
      for (JobFilter filter : JobFilter.values()) {
        String plan = queryPlan(connection, SqliteJobStore.listQuery(filter));
        assertThat(plan).contains("USING INDEX jobs_by_category").doesNotContain("TEMP B-TREE");
      }
      assertThat(queryPlan(connection, SqliteJobStore.listQuery(null)))
          .as("newest first straight from the primary key")
          .doesNotContain("TEMP B-TREE");
      assertThat(
              queryPlan(
                  connection,
                  "SELECT id FROM jobs WHERE ended < 5 AND state IN ('FINISHED', 'CANCELED')"))
          .contains("USING INDEX jobs_by_end");
    }
  }

  @Test
  void theJobsOfABatchAreFoundThroughTheBatchIndex() throws Exception {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + databaseFile())) {
      assertThat(
              queryPlan(
                  connection,
                  "SELECT id FROM jobs WHERE batch_id = 5 AND category = 'RUNNING'"
                      + " ORDER BY id DESC LIMIT 10"))
          .contains("USING INDEX jobs_by_batch")
          .doesNotContain("TEMP B-TREE");
      assertThat(
              queryPlan(
                  connection,
                  "SELECT category, count(*) FROM jobs WHERE batch_id = 5 GROUP BY category"))
          .contains("USING INDEX jobs_by_batch");
    }
  }

  @Test
  void aDatabaseOfTheFirstSchemaIsUpgradedAndKeepsItsJobs() throws Exception {
    store.close();
    Path old = dataDirectory.resolve("old");
    Files.createDirectories(old);
    Path file = old.resolve("kueue.db");
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement()) {
      for (String sql : Schema.CREATE) {
        statement.execute(sql);
      }
      statement.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
      statement.execute("PRAGMA user_version = 1");
      statement.execute(
          "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, submitted)"
              + " VALUES (7, 'PENDING', '[\"./old\"]', '/w', 1, 1, 10, 0, 0)");
      statement.execute("UPDATE meta SET value = 8 WHERE key = 'next_job_id'");
    }

    store = SqliteJobStore.open(old);

    assertThat(store.summary(7).orElseThrow().batch()).isNull();
    assertThat(store.nextJobId()).isEqualTo(8);
    persist(new Event.JobQueued(8, Jobs.aSpec().forJob(8, List.of("./new"), 8L, 1L), at(1)));
    assertThat(store.summary(8).orElseThrow().arrayIndex()).isEqualTo(1L);
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("PRAGMA user_version")) {
      assertThat(row.getInt(1)).isEqualTo(Schema.VERSION);
    }
  }

  @Test
  void aDatabaseOfVersion8KeepsItsOutputAsTheOutputOfEachJobsLastAttempt() throws Exception {
    store.close();
    Path old = dataDirectory.resolve("v8");
    Files.createDirectories(old);
    Path file = old.resolve("kueue.db");
    OldDatabases.write(
        file,
        8,
        "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, worker,"
            + " submitted, started, ended, exit_code) VALUES"
            + " (7, 'FINISHED', '[\"./old\"]', '/w', 1, 1, 10, 3, 'w', 0, 1, 2, 1)",
        "INSERT INTO outputs (job_id, stream, text, dropped_bytes) VALUES"
            + " (7, 'stdout', 'out\n', 0), (7, 'stderr', 'err\n', 5)",
        "UPDATE meta SET value = 8 WHERE key = 'next_job_id'");

    store = SqliteJobStore.open(old);

    JobDetail detail = store.detail(7).orElseThrow();
    assertThat(detail.outputAttempts()).containsExactly(3);
    assertThat(detail.stdout()).isEqualTo(new CapturedOutput("out\n", 0));
    assertThat(store.output(7, 3).orElseThrow().stderr()).isEqualTo(new CapturedOutput("err\n", 5));
    assertThat(store.output(7, 2)).isEmpty();
  }

  @Test
  void aDatabaseOfVersionThreeGetsTheDeviceColumnsAndKeepsItsJobs() throws Exception {
    store.close();
    Path old = dataDirectory.resolve("v3");
    Files.createDirectories(old);
    Path file = old.resolve("kueue.db");
    OldDatabases.write(
        file,
        3,
        "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, worker,"
            + " submitted) VALUES (7, 'RUNNING', '[\"./old\"]', '/w', 1, 1, 10, 1, 'w', 0)",
        "UPDATE meta SET value = 8 WHERE key = 'next_job_id'");

    store = SqliteJobStore.open(old);

    assertThat(store.activeJobs())
        .containsExactly(
            new RestoredJob(
                7, JobState.RUNNING, new Resources(1, 1, 10), Map.of(), 1, Instant.EPOCH));
    assertThat(store.detail(7).orElseThrow().devices()).isEmpty();
    assertThat(store.spec(7).orElseThrow().workerResources()).isEmpty();
  }

  @Test
  void aJobOfADatabaseOfVersionEightEndsWhatItLeavesAndRunsWithTheWorkersUmask() throws Exception {
    store.close();
    Path old = dataDirectory.resolve("v8");
    Files.createDirectories(old);
    Path file = old.resolve("kueue.db");
    OldDatabases.write(
        file,
        8,
        "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, submitted)"
            + " VALUES (7, 'PENDING', '[\"./old\"]', '/w', 1, 1, 10, 0, 0)",
        "UPDATE meta SET value = 8 WHERE key = 'next_job_id'");

    store = SqliteJobStore.open(old);

    JobSpec spec = store.spec(7).orElseThrow();
    assertThat(spec.keepChildren()).isFalse();
    assertThat(spec.umask()).isNull();
  }

  @Test
  void aHundredThousandJobBatchIsStoredInOneTransactionWithOneCopyOfItsEnvironment() {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < 200; i++) {
      env.put("VARIABLE_" + i, "/opt/module-" + i + "/bin");
    }
    JobSpec shared =
        JobSpecBuilder.builder()
            .argv(List.of("./sweep"))
            .cwd("/w")
            .env(env)
            .slots(1)
            .cpus(1)
            .ramMb(100)
            .globalResources(Map.of())
            .stdout("out-%a.txt")
            .build();
    List<Event> batch = new ArrayList<>();
    for (long id = 1; id <= 100_000; id++) {
      batch.add(new Event.JobQueued(id, shared.forJob(id, shared.argv(), 1L, id - 1), at(0)));
    }

    persist(batch);

    assertThat(sqlite().storedEnvironments()).isEqualTo(1);
    assertThat(store.nextJobId()).isEqualTo(100_001);
    assertThat(store.spec(100_000).orElseThrow().stdout()).isEqualTo("out-99999.txt");
    assertThat(store.spec(100_000).orElseThrow().env()).isEqualTo(env);
    BatchSummary summary = store.batch(1, at(1)).orElseThrow();
    assertThat(summary.jobs()).isEqualTo(100_000);
    assertThat(summary.stats().pending()).isEqualTo(100_000);
    assertThat(summary.lastJob()).isEqualTo(100_000);
  }

  private static String queryPlan(Connection connection, String sql) throws SQLException {
    StringBuilder plan = new StringBuilder();
    try (var statement = connection.prepareStatement("EXPLAIN QUERY PLAN " + sql);
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        plan.append(rows.getString("detail")).append('\n');
      }
    }
    return plan.toString();
  }

  @Test
  void aDatabaseFromANewerKueueIsRefusedWithAClearMessage() throws Exception {
    persist(queued(1, 0));
    store.close();
    execute(databaseFile(), "PRAGMA user_version = " + (Schema.VERSION + 1));

    assertThatThrownBy(() -> SqliteJobStore.open(dataDirectory))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(
            "kueue.db was written by a newer Kueue (schema "
                + (Schema.VERSION + 1)
                + ", this version knows "
                + Schema.VERSION
                + ")");

    execute(databaseFile(), "PRAGMA user_version = " + Schema.VERSION);
    store = open(dataDirectory);
    assertThat(store.summary(1)).isPresent();
  }

  @Test
  void aFileThatIsNotADatabaseIsRefusedAndLeftAsItWas() throws Exception {
    store.close();
    Path elsewhere = dataDirectory.resolve("garbage");
    Files.createDirectories(elsewhere);
    byte[] garbage = new byte[8192];
    new Random(1).nextBytes(garbage);
    Files.write(elsewhere.resolve("kueue.db"), garbage);

    assertThatThrownBy(() -> SqliteJobStore.open(elsewhere))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("kueue.db is not a Kueue database or is damaged");
    assertThat(Files.readAllBytes(elsewhere.resolve("kueue.db"))).isEqualTo(garbage);
    store = open(dataDirectory);
  }

  @Test
  void anotherApplicationsDatabaseIsRefused() throws Exception {
    Path elsewhere = dataDirectory.resolve("foreign");
    Files.createDirectories(elsewhere);
    execute(elsewhere.resolve("kueue.db"), "CREATE TABLE photos (id INTEGER PRIMARY KEY)");

    assertThatThrownBy(() -> SqliteJobStore.open(elsewhere))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("is not a Kueue database");
  }

  /** 2000 pending jobs, closed cleanly, then eight pages in the middle overwritten with noise. */
  private void writeAndDamage() throws Exception {
    List<Event> events = new ArrayList<>();
    for (long id = 1; id <= 2000; id++) {
      events.add(queued(id, id));
    }
    persist(events);
    store.close();
    long size = Files.size(databaseFile());
    assertThat(size).isGreaterThan(16 * 4096);
    try (RandomAccessFile file = new RandomAccessFile(databaseFile().toFile(), "rw")) {
      byte[] noise = new byte[4096 * 8];
      new Random(3).nextBytes(noise);
      file.seek(4096 * 4);
      file.write(noise);
    }
  }

  @Test
  void damageFoundByTheIntegrityCheckIsNamedAndNothingIsWrittenAfterIt() throws Exception {
    writeAndDamage();
    byte[] damaged = Files.readAllBytes(databaseFile());

    SqliteJobStore reopened = SqliteJobStore.open(dataDirectory);
    try {
      assertThat(reopened.checksBeforeWriting()).isFalse();
      Throwable failure =
          org.assertj.core.api.Assertions.catchThrowable(
              () -> reopened.integrityCheck().get(60, java.util.concurrent.TimeUnit.SECONDS));
      assertThat(failure)
          .isInstanceOf(java.util.concurrent.ExecutionException.class)
          .cause()
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("kueue.db is damaged")
          .hasMessageContaining("restore it from a backup or move it away");
      assertThatThrownBy(() -> reopened.persist(List.of(queued(2001, 1))))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("kueue.db is damaged");
    } finally {
      reopened.close();
    }
    assertThat(Files.readAllBytes(databaseFile())).isEqualTo(damaged);
    store = SqliteJobStore.open(dataDirectory.resolve("fresh"));
  }

  @Test
  void aRestoreThatReadsDamagedPagesSaysTheDatabaseIsDamaged() throws Exception {
    writeAndDamage();

    SqliteJobStore reopened = SqliteJobStore.open(dataDirectory);
    try {
      assertThatThrownBy(reopened::activeJobs)
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("kueue.db is damaged");
    } finally {
      reopened.close();
    }
    store = SqliteJobStore.open(dataDirectory.resolve("fresh"));
  }

  /**
   * A server that was killed leaves SQLite's write-ahead log behind; copying the files of an open
   * store gives the same picture.
   */
  private Path crashImage() throws Exception {
    Path image = dataDirectory.resolve("crashed");
    Files.createDirectories(image);
    for (String file : List.of("kueue.db", "kueue.db-wal", "kueue.boot")) {
      Files.copy(dataDirectory.resolve(file), image.resolve(file));
    }
    return image;
  }

  /** The database was last opened before the machine booted again. */
  private static void bootedSince(Path directory) throws Exception {
    Files.writeString(directory.resolve("kueue.boot"), "00000000-0000-0000-0000-000000000000\n");
  }

  @Test
  void aServerKilledOnARunningMachineWritesAtOnceWhileTheCheckRuns() throws Exception {
    assertThat(Files.readString(dataDirectory.resolve("kueue.boot")))
        .isEqualToIgnoringNewLines(
            Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip());
    persist(queued(1, 1));
    Path image = crashImage();

    SqliteJobStore killed = SqliteJobStore.open(image);
    try {
      assertThat(killed.checksBeforeWriting()).isFalse();
      killed.persist(List.of(queued(2, 2)));
      assertThat(killed.integrityCheck()).succeedsWithin(java.time.Duration.ofSeconds(60));
      assertThat(killed.activeJobs()).extracting(RestoredJob::jobId).containsExactly(1L, 2L);
    } finally {
      killed.close();
    }
  }

  @Test
  void afterAMachineCrashWritesWaitForTheCheckAndThenGoOn() throws Exception {
    persist(queued(1, 1));
    Path image = crashImage();
    bootedSince(image);

    SqliteJobStore crashed = SqliteJobStore.open(image);
    try {
      assertThat(crashed.checksBeforeWriting()).isTrue();
      crashed.persist(List.of(queued(2, 2)));
      assertThat(crashed.integrityCheck()).isCompleted();
      assertThat(crashed.activeJobs()).extracting(RestoredJob::jobId).containsExactly(1L, 2L);
    } finally {
      crashed.close();
    }
    SqliteJobStore again = SqliteJobStore.open(image);
    try {
      assertThat(again.checksBeforeWriting()).as("closed cleanly this time").isFalse();
      assertThat(again.integrityCheck()).succeedsWithin(java.time.Duration.ofSeconds(60));
    } finally {
      again.close();
    }
  }

  @Test
  void afterAMachineCrashADamagedDatabaseIsNeverWrittenTo() throws Exception {
    writeAndDamage();
    // What a crash leaves behind: the log, here with nothing in it.
    Files.createFile(dataDirectory.resolve("kueue.db-wal"));
    bootedSince(dataDirectory);
    byte[] damaged = Files.readAllBytes(databaseFile());

    SqliteJobStore crashed = SqliteJobStore.open(dataDirectory);
    try {
      assertThat(crashed.checksBeforeWriting()).isTrue();
      assertThatThrownBy(() -> crashed.persist(List.of(queued(2001, 1))))
          .isInstanceOf(StoreException.class)
          .hasMessageContaining("kueue.db is damaged");
      assertThat(crashed.integrityCheck()).isCompletedExceptionally();
    } finally {
      crashed.close();
    }
    assertThat(Files.readAllBytes(databaseFile())).isEqualTo(damaged);
    store = SqliteJobStore.open(dataDirectory.resolve("fresh"));
  }

  @Test
  void aDataDirectoryThatIsAFileIsRefusedWithItsName() throws Exception {
    Path file = dataDirectory.resolve("not-a-directory");
    Files.writeString(file, "x");

    assertThatThrownBy(() -> SqliteJobStore.open(file))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot create the data directory")
        .hasMessageContaining("not-a-directory");
  }

  @Test
  void aSecondStoreOnTheSameDirectoryIsRefusedWhileTheFirstIsOpen() {
    assertThatThrownBy(() -> SqliteJobStore.open(dataDirectory))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("in use by another Kueue server");

    store.close();
    store = open(dataDirectory);
    assertThat(store.nextJobId()).isEqualTo(1);
  }

  @Test
  void aClosedStoreRefusesReadsAndWrites() {
    store.close();

    assertThatThrownBy(() -> store.list(0, List.of()))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> persist(queued(1, 0)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("closed");
    store.close();
    store = open(dataDirectory);
  }

  @Test
  void finishedJobsStayReadableWhileTheirStateIsStored() {
    persist(ranToCompletion(1, 0, 0, 5));
    assertThat(store.summary(1).orElseThrow().state()).isEqualTo(JobState.FINISHED);
  }
}
