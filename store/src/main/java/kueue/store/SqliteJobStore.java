package kueue.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import kueue.core.DependencyTargets;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.AttemptOutput;
import kueue.model.BatchSummary;
import kueue.model.CapturedOutput;
import kueue.model.CommandLines;
import kueue.model.Dependency;
import kueue.model.DependencyKind;
import kueue.model.DependencyStatus;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobFilter;
import kueue.model.JobQuery;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.model.Resources;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * {@link JobStore} in {@code kueue.db}, a SQLite database in WAL mode inside the server's data
 * directory. One connection writes (persist and clean, serialised); a few read-only connections
 * serve readers on any thread, each read seeing one committed state.
 *
 * <p>Durability: WAL with {@code synchronous=NORMAL}. A commit is written to the WAL file before
 * {@link #persist} returns, only the fsync is deferred to checkpoints ({@link WalCheckpoints}, a
 * fraction of a second later); so a killed server process (SIGKILL, OOM kill, crash) loses no
 * committed batch, because the data is already in the operating system's page cache. Only an
 * operating-system crash or power loss can lose the last transactions before a checkpoint; the
 * database stays consistent even then. This trades that rare loss for a commit that does not wait
 * for the disk, which the submission throughput needs.
 */
public final class SqliteJobStore implements JobStore {

  static final String DATABASE_FILE = "kueue.db";
  static final String LOCK_FILE = "kueue.lock";

  /** The boot id of the machine that last opened the database; see {@link #open}. */
  static final String BOOT_FILE = "kueue.boot";

  private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
  private static final int READ_CONNECTIONS = 4;
  private static final int BUSY_TIMEOUT_MILLIS = 5_000;

  private static final String SUMMARY_COLUMNS =
      "id, state, argv, cwd, slots, cpus, ram_mb, attempt, worker, submitted, started, ended,"
          + " exit_code, signal, note, batch_id, array_index, priority";
  private static final String SPEC_COLUMNS =
      "argv, cwd, slots, cpus, ram_mb, global_resources, stdout_target, stderr_target, batch_id,"
          + " array_index, time_limit_s, retries, retry_delay_s, submission_key, worker_resources,"
          + " gpu_ram_mb, priority, hold, dependencies, keep_children, umask";
  private static final String ACTIVE_CATEGORIES = Schema.ACTIVE_CATEGORIES;

  /** What clean deletes: the categories of ended jobs, failed ones only when asked. */
  private static final String ENDED_CATEGORIES = endedCategories(true);

  private static final String ENDED_CATEGORIES_BUT_FAILED = endedCategories(false);

  private final Path databaseFile;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final EventWriter writer;
  private final ReadConnections readers;
  private final WalCheckpoints checkpoints;
  private final Object writeLock = new Object();
  private volatile long nextJobId;
  private boolean closed;

  /**
   * {@code PRAGMA quick_check} over the whole file, started by {@link #open}: completes normally
   * when it found nothing wrong, exceptionally with the {@link StoreException} to show otherwise.
   */
  private final CompletableFuture<Void> integrity = new CompletableFuture<>();

  /** True after an unclean shutdown: then writes wait for {@link #integrity}. */
  private final boolean checkBeforeWriting;

  /** Set once the database is known to be damaged; every later write is refused with it. */
  private volatile StoreException damage;

  /** The running quick_check, to interrupt when the store is closed before it ends. */
  private volatile Statement checking;

  private final java.util.concurrent.atomic.AtomicBoolean checkStarted =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Set first thing in close(), read by the check's thread. */
  private volatile boolean closing;

  private SqliteJobStore(
      Path databaseFile,
      FileChannel lockChannel,
      FileLock lock,
      EventWriter writer,
      ReadConnections readers,
      WalCheckpoints checkpoints,
      boolean checkBeforeWriting) {
    this.databaseFile = databaseFile;
    this.checkpoints = checkpoints;
    this.checkBeforeWriting = checkBeforeWriting;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.writer = writer;
    this.readers = readers;
    this.nextJobId = writer.nextJobId();
  }

  /**
   * Opens {@code kueue.db} in dataDirectory, creating the directory (mode 0700) and an empty
   * database when missing. Fails with a {@link StoreException} naming the file when the file is not
   * a Kueue database, lacks its tables, was written by a newer Kueue, or is in use by another
   * process; an existing file is never replaced.
   *
   * <p>The whole-file check ({@code PRAGMA quick_check}, seconds for a million jobs) does not hold
   * up the start: it runs on a thread of its own, from the first call of {@link #integrityCheck()}
   * on. What was damaged before it finishes is still found by SQLite itself when a read or write
   * touches it. After an unclean shutdown of the machine (SQLite's write-ahead log was left behind,
   * and the machine booted since the database was opened, or it cannot tell), the check starts here
   * and every write waits until it has passed, so a database damaged by the crash is not written to
   * at all; reads such as the restore go on meanwhile. A server process that was killed while its
   * machine kept running is not such a case: everything it wrote is in the operating system's
   * cache, and SQLite keeps its transactions atomic when a process dies, so its database is as
   * sound as after a clean shutdown.
   */
  public static SqliteJobStore open(Path dataDirectory) {
    Objects.requireNonNull(dataDirectory, "dataDirectory");
    Path directory = dataDirectory.toAbsolutePath();
    Path databaseFile = directory.resolve(DATABASE_FILE);
    createPrivateDirectory(directory);
    // SQLite deletes the log when the last connection closes cleanly; see checkBeforeWriting.
    boolean uncleanShutdown = Files.exists(directory.resolve(DATABASE_FILE + "-wal"));
    FileChannel lockChannel = null;
    FileLock lock = null;
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      lockChannel = openPrivateFile(directory.resolve(LOCK_FILE));
      lock = lockOrFail(lockChannel, directory);
      String bootId = currentBootId();
      boolean machineStopped =
          uncleanShutdown && (bootId == null || !bootId.equals(recordedBootId(directory)));
      createPrivateFile(databaseFile);
      Connection writeConnection = connect(databaseFile, false);
      opened.add(writeConnection);
      boolean checked = prepareSchema(writeConnection, databaseFile);
      EventWriter writer = new EventWriter(writeConnection, databaseFile.toString());
      List<Connection> readConnections = new ArrayList<>();
      for (int i = 0; i < READ_CONNECTIONS; i++) {
        Connection connection = connect(databaseFile, true);
        opened.add(connection);
        readConnections.add(connection);
      }
      ReadConnections readers = new ReadConnections(readConnections, databaseFile.toString());
      Connection checkpointConnection = connect(databaseFile, false);
      opened.add(checkpointConnection);
      WalCheckpoints checkpoints =
          new WalCheckpoints(checkpointConnection, databaseFile.toString());
      SqliteJobStore store =
          new SqliteJobStore(
              databaseFile,
              lockChannel,
              lock,
              writer,
              readers,
              checkpoints,
              machineStopped && !checked);
      checkpoints.start();
      if (checked) {
        store.checkStarted.set(true);
        store.integrity.complete(null);
      } else if (store.checkBeforeWriting) {
        store.startIntegrityCheck();
      }
      recordBootId(directory, bootId);
      return store;
    } catch (SQLException e) {
      closeAll(opened, lockChannel);
      throw new StoreException(describeOpenFailure(databaseFile, e), e);
    } catch (IOException e) {
      closeAll(opened, lockChannel);
      throw new StoreException("cannot open " + databaseFile + ": " + e, e);
    } catch (RuntimeException e) {
      closeAll(opened, lockChannel);
      throw e;
    }
  }

  private static void createPrivateDirectory(Path directory) {
    try {
      if (!Files.isDirectory(directory)) {
        Files.createDirectories(directory, privateAttributes("rwx------"));
      }
    } catch (UnsupportedOperationException e) {
      createDirectoriesWithoutPermissions(directory);
    } catch (IOException e) {
      throw new StoreException("cannot create the data directory " + directory + ": " + e, e);
    }
  }

  private static void createDirectoriesWithoutPermissions(Path directory) {
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new StoreException("cannot create the data directory " + directory + ": " + e, e);
    }
  }

  /** The database holds submitters' environments, which may contain their tokens. */
  private static void createPrivateFile(Path file) throws IOException {
    try {
      Files.createFile(file, privateAttributes("rw-------"));
    } catch (FileAlreadyExistsException e) {
      // An existing database is opened as it is, never replaced.
    } catch (UnsupportedOperationException e) {
      if (!Files.exists(file)) {
        Files.createFile(file);
      }
    }
  }

  /** Null where the system does not tell (not Linux). */
  private static String currentBootId() {
    try {
      return Files.readString(BOOT_ID).strip();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String recordedBootId(Path directory) {
    try {
      return Files.readString(directory.resolve(BOOT_FILE)).strip();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * Written once the database is open, while holding the lock. Failing to write it is no error: a
   * missing or stale file only means that the next start after a killed server checks before
   * writing.
   */
  private static void recordBootId(Path directory, String bootId) {
    Path file = directory.resolve(BOOT_FILE);
    try {
      if (bootId == null) {
        Files.deleteIfExists(file);
      } else if (!bootId.equals(recordedBootId(directory))) {
        Path written = directory.resolve(BOOT_FILE + ".new");
        Files.writeString(written, bootId + "\n");
        Files.move(
            written,
            file,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
    } catch (IOException | RuntimeException e) {
      // See above.
    }
  }

  private static FileChannel openPrivateFile(Path file) throws IOException {
    createPrivateFile(file);
    return FileChannel.open(file, StandardOpenOption.WRITE);
  }

  private static FileAttribute<?> privateAttributes(String permissions) {
    return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions));
  }

  /** Two servers writing one database would hand out the same job ids. */
  private static FileLock lockOrFail(FileChannel channel, Path directory) throws IOException {
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      throw new StoreException(
          "the data directory " + directory + " is in use by another Kueue server");
    }
    return lock;
  }

  private static Connection connect(Path databaseFile, boolean readOnly) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(readOnly);
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    return config.createConnection("jdbc:sqlite:" + databaseFile);
  }

  /**
   * Checks the header and the tables, creates or migrates them; returns whether the whole file was
   * checked already (a new database, or one checked before it was migrated).
   */
  private static boolean prepareSchema(Connection connection, Path databaseFile)
      throws SQLException {
    int version = pragmaInt(connection, "user_version");
    int applicationId = pragmaInt(connection, "application_id");
    if (version > Schema.VERSION) {
      throw new StoreException(
          databaseFile
              + " was written by a newer Kueue (schema "
              + version
              + ", this version knows "
              + Schema.VERSION
              + "); upgrade Kueue or use another data directory");
    }
    if (version == 0 && hasTables(connection)
        || version > 0 && applicationId != Schema.APPLICATION_ID) {
      throw new StoreException(
          databaseFile + " is not a Kueue database; move it away or use another data directory");
    }
    boolean checked = version == 0;
    if (version > 0) {
      requireTables(connection, databaseFile);
      if (version < Schema.VERSION) {
        // A migration rewrites tables: never on top of damage.
        try (Statement statement = connection.createStatement()) {
          requireIntact(statement, databaseFile);
        }
        checked = true;
      }
    }
    try (Statement statement = connection.createStatement()) {
      try (ResultSet mode = statement.executeQuery("PRAGMA journal_mode = WAL")) {
        if (!mode.next() || !"wal".equalsIgnoreCase(mode.getString(1))) {
          throw new StoreException("cannot switch " + databaseFile + " to WAL mode");
        }
      }
      // See the class comment for why NORMAL is durable enough.
      statement.execute("PRAGMA synchronous = NORMAL");
      statement.execute("PRAGMA cache_size = -16000");
      // WalCheckpoints checkpoints on a thread of its own; the log is cut back to 64 MiB when it
      // starts over after a burst.
      statement.execute("PRAGMA wal_autocheckpoint = 0");
      statement.execute("PRAGMA journal_size_limit = 67108864");
      if (version < Schema.VERSION) {
        connection.setAutoCommit(false);
        if (version == 0) {
          for (String sql : Schema.CREATE) {
            statement.execute(sql);
          }
          statement.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
          version = 1;
        }
        for (int from = version; from < Schema.VERSION; from++) {
          for (String sql : Schema.MIGRATIONS.get(from - 1)) {
            statement.execute(sql);
          }
        }
        statement.execute("PRAGMA user_version = " + Schema.VERSION);
        connection.commit();
        connection.setAutoCommit(true);
      }
    }
    return checked;
  }

  /** The schema page is read in full, so a damaged first page shows up here already. */
  private static void requireTables(Connection connection, Path databaseFile) throws SQLException {
    Set<String> tables = new java.util.HashSet<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery("SELECT name FROM sqlite_schema WHERE type = 'table'")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }
    List<String> missing = Schema.TABLES.stream().filter(table -> !tables.contains(table)).toList();
    if (!missing.isEmpty()) {
      throw new StoreException(
          databaseFile
              + " is damaged (tables missing: "
              + String.join(", ", missing)
              + "); restore it from a backup or move it away");
    }
  }

  private static void requireIntact(Statement statement, Path databaseFile) throws SQLException {
    List<String> problems = new ArrayList<>();
    try (ResultSet rows = statement.executeQuery("PRAGMA quick_check")) {
      while (rows.next()) {
        problems.add(rows.getString(1));
      }
    }
    if (!problems.equals(List.of("ok"))) {
      throw new StoreException(
          databaseFile
              + " is damaged (SQLite quick_check: "
              + String.join("; ", problems.subList(0, Math.min(3, problems.size())))
              + "); restore it from a backup or move it away");
    }
  }

  private static boolean hasTables(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT count(*) FROM sqlite_schema")) {
      return rows.next() && rows.getLong(1) > 0;
    }
  }

  private static int pragmaInt(Connection connection, String pragma) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("PRAGMA " + pragma)) {
      return rows.next() ? rows.getInt(1) : 0;
    }
  }

  private void startIntegrityCheck() {
    if (checkStarted.compareAndSet(false, true)) {
      Thread.ofPlatform().daemon().name("kueue.db check").start(this::checkIntegrity);
    }
  }

  /** Runs on its own thread, on a read connection of its own for the duration. */
  private void checkIntegrity() {
    try {
      readers.read(
          loan -> {
            try (Statement statement = loan.createStatement()) {
              checking = statement;
              if (closing) {
                throw new StoreException(databaseFile + " was closed before it was checked");
              }
              requireIntact(statement, databaseFile);
            } finally {
              checking = null;
            }
            return null;
          });
      integrity.complete(null);
    } catch (StoreException e) {
      if (closing) {
        integrity.completeExceptionally(e);
      } else {
        // A check that could not run vouches for nothing either.
        StoreException reported = damagedOr(e);
        damage = reported;
        integrity.completeExceptionally(reported);
      }
    } catch (RuntimeException e) {
      integrity.completeExceptionally(e);
    }
  }

  /**
   * Starts {@code PRAGMA quick_check} over the whole file, on a thread of its own, unless it runs
   * or ran already. The future completes when it found nothing wrong, and exceptionally with a
   * {@link StoreException} naming the file when it found damage (from then on every write is
   * refused) or could not run. Already complete for a new database.
   */
  public CompletableFuture<Void> integrityCheck() {
    startIntegrityCheck();
    return integrity.copy();
  }

  /**
   * Whether writes wait for {@link #integrityCheck()}: the database was left open when its machine
   * stopped (crashed, lost power), or it cannot be told whether it was.
   */
  public boolean checksBeforeWriting() {
    return checkBeforeWriting;
  }

  /** A read that SQLite refused because a page is damaged, told as such. */
  private StoreException damagedOr(StoreException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLiteException sqlite && ReadConnections.isDamage(sqlite)) {
        StoreException damaged =
            new StoreException(
                databaseFile
                    + " is damaged ("
                    + sqlite.getResultCode().message
                    + "); restore it from a backup or move it away",
                e);
        damage = damaged;
        return damaged;
      }
    }
    return e;
  }

  private static String describeOpenFailure(Path databaseFile, SQLException e) {
    if (e instanceof SQLiteException sqlite) {
      SQLiteErrorCode code = sqlite.getResultCode();
      if (code == SQLiteErrorCode.SQLITE_NOTADB || code == SQLiteErrorCode.SQLITE_CORRUPT) {
        return databaseFile
            + " is not a Kueue database or is damaged ("
            + code.message
            + "); restore it from a backup or move it away";
      }
    }
    return "cannot open " + databaseFile + ": " + e.getMessage();
  }

  private static void closeAll(List<AutoCloseable> opened, FileChannel lockChannel) {
    for (AutoCloseable closeable : opened.reversed()) {
      try {
        closeable.close();
      } catch (Exception ignored) {
        // Already failing; the original error is the one to report.
      }
    }
    if (lockChannel != null) {
      try {
        lockChannel.close();
      } catch (IOException ignored) {
        // Closing the channel releases the lock; nothing else to undo.
      }
    }
  }

  @Override
  public long nextJobId() {
    return nextJobId;
  }

  /** How many background checkpoints have run, for tests. */
  long checkpointsCompleted() {
    return checkpoints.completed();
  }

  @Override
  public Map<String, Long> workerIds() {
    synchronized (writeLock) {
      requireOpen();
      return writer.workerIds();
    }
  }

  @Override
  public void saveWorkerId(String name, long id) {
    Objects.requireNonNull(name, "name");
    synchronized (writeLock) {
      requireOpen();
      writer.saveWorkerId(name, id);
    }
    checkpoints.written();
  }

  @Override
  public void persist(List<Event> events) {
    Objects.requireNonNull(events, "events");
    if (events.isEmpty()) {
      return;
    }
    synchronized (writeLock) {
      requireOpen();
      writer.persist(events);
      nextJobId = writer.nextJobId();
    }
    checkpoints.written();
  }

  @Override
  public long clean(boolean includeFailed) {
    long removed = 0;
    long chunk;
    do {
      chunk = clean(includeFailed, EXPIRY_CHUNK);
      removed += chunk;
    } while (chunk == EXPIRY_CHUNK);
    return removed;
  }

  @Override
  public long clean(boolean includeFailed, int limit) {
    String categories = includeFailed ? ENDED_CATEGORIES : ENDED_CATEGORIES_BUT_FAILED;
    try {
      synchronized (writeLock) {
        requireOpen();
        return writer.deleteJobs("category IN " + categories, "id", null, limit);
      }
    } finally {
      checkpoints.written();
    }
  }

  @Override
  public long expire(Instant endedBefore, int limit) {
    Objects.requireNonNull(endedBefore, "endedBefore");
    try {
      synchronized (writeLock) {
        requireOpen();
        return writer.deleteJobs(EventWriter.EXPIRED, EventWriter.BY_END, endedBefore, limit);
      }
    } finally {
      checkpoints.written();
    }
  }

  /** Every write passes here: see {@link #open} for when it waits for the integrity check. */
  private void requireOpen() {
    if (closed) {
      throw new StoreException(databaseFile + " is closed");
    }
    if (checkBeforeWriting) {
      try {
        integrity.join();
      } catch (java.util.concurrent.CompletionException e) {
        throw e.getCause() instanceof StoreException cause
            ? new StoreException(cause.getMessage(), cause)
            : new StoreException("cannot check " + databaseFile + ": " + e.getCause(), e);
      }
    }
    StoreException damaged = damage;
    if (damaged != null) {
      throw new StoreException(damaged.getMessage(), damaged);
    }
  }

  /**
   * Reads each category through jobs_by_category, whose entries of one category are in id order, so
   * that SQLite neither sorts a million rows nor scans finished ones. Consecutive jobs of one
   * submission share their demand and submission time, so equal values are shared instead of
   * allocated per row.
   */
  @Override
  public void activeJobs(java.util.function.Consumer<RestoredJob> each) {
    Objects.requireNonNull(each, "each");
    try {
      readers.read(
          loan -> {
            Map<Long, List<RestoredJob.RestoredDependency>> dependencies =
                dependenciesOfKeptJobs(loan);
            PreparedStatement query =
                loan.prepare(
                    "SELECT id, slots, cpus, ram_mb, global_resources, attempt, submitted,"
                        + " retries, retried, retry_delay_s, not_before, worker_resources, gpu_ram_mb,"
                        + " devices, priority"
                        + " FROM jobs WHERE category = ? AND state = ?");
            for (JobState state : JobState.values()) {
              if (!state.isTerminal()) {
                query.setString(1, state.category(null).name());
                query.setString(2, state.name());
                readActive(query, state, dependencies, each);
              }
            }
            return null;
          });
    } catch (StoreException e) {
      throw damagedOr(e);
    }
  }

  /**
   * The dependencies of held and waiting jobs, with where each parent stands: the only jobs whose
   * dependencies may not all be met (a job is placed only once they are).
   */
  private static Map<Long, List<RestoredJob.RestoredDependency>> dependenciesOfKeptJobs(
      ReadConnections.Loan loan) throws SQLException {
    Map<Long, List<RestoredJob.RestoredDependency>> dependencies = new HashMap<>();
    PreparedStatement query =
        loan.prepare(
            "SELECT d.job_id, d.kind, d.parent_id, p.state, p.exit_code FROM jobs j"
                + " JOIN job_dependencies d ON d.job_id = j.id"
                + " LEFT JOIN jobs p ON p.id = d.parent_id"
                + " WHERE j.category IN ("
                + Schema.literal(JobState.HELD)
                + ", "
                + Schema.literal(JobState.WAITING)
                + ")");
    try (ResultSet row = query.executeQuery()) {
      while (row.next()) {
        String state = row.getString(4);
        dependencies
            .computeIfAbsent(row.getLong(1), id -> new ArrayList<>(1))
            .add(
                new RestoredJob.RestoredDependency(
                    DependencyKind.valueOf(row.getString(2)),
                    row.getLong(3),
                    state == null ? null : JobState.valueOf(state),
                    integerOrNull(row, "exit_code")));
      }
    }
    return dependencies;
  }

  private static void readActive(
      PreparedStatement query,
      JobState state,
      Map<Long, List<RestoredJob.RestoredDependency>> dependencies,
      java.util.function.Consumer<RestoredJob> each)
      throws SQLException {
    Resources demand = null;
    String resourcesJson = null;
    Map<String, Integer> resources = Map.of();
    Instant submitted = null;
    try (ResultSet row = query.executeQuery()) {
      while (row.next()) {
        long id = row.getLong(1);
        int slots = row.getInt(2);
        int cpus = row.getInt(3);
        long ramMb = row.getLong(4);
        if (demand == null
            || demand.slots() != slots
            || demand.cpus() != cpus
            || demand.ramMb() != ramMb) {
          demand = new Resources(slots, cpus, ramMb);
        }
        String json = row.getString(5);
        if (!Objects.equals(json, resourcesJson)) {
          resourcesJson = json;
          resources = JsonColumns.resources(json);
        }
        int attempt = row.getInt(6);
        long submittedMillis = row.getLong(7);
        if (submitted == null || submitted.toEpochMilli() != submittedMillis) {
          submitted = Instant.ofEpochMilli(submittedMillis);
        }
        int retries = row.getInt(8);
        int retried = row.getInt(9);
        long retryDelay = row.getLong(10);
        long notBefore = row.getLong(11);
        Instant retryAt = row.wasNull() ? null : Instant.ofEpochMilli(notBefore);
        String workerResources = row.getString(12);
        each.accept(
            new RestoredJob(
                id,
                state,
                demand,
                resources,
                attempt,
                submitted,
                retries,
                retried,
                retryDelay,
                state == JobState.PENDING ? retryAt : null,
                workerResources == null ? Map.of() : JsonColumns.amounts(workerResources),
                row.getLong(13),
                workerResources == null ? Map.of() : JsonColumns.devices(row.getString(14)),
                row.getInt(15),
                dependencies.getOrDefault(id, List.of())));
      }
    }
  }

  @Override
  public DependencyTargets dependencyTargets(Collection<Long> ids) {
    Objects.requireNonNull(ids, "ids");
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT id, state, exit_code FROM jobs WHERE id = ?1 OR batch_id = ?1"
                      + " ORDER BY id");
          Map<Long, List<Long>> jobsOf = new HashMap<>();
          Map<Long, DependencyTargets.ParentEnd> ended = new HashMap<>();
          for (long id : new java.util.TreeSet<>(ids)) {
            query.setLong(1, id);
            List<Long> members = new ArrayList<>();
            try (ResultSet row = query.executeQuery()) {
              while (row.next()) {
                long member = row.getLong(1);
                members.add(member);
                JobState state = JobState.valueOf(row.getString(2));
                if (state.isTerminal()) {
                  Integer exitCode = integerOrNull(row, "exit_code");
                  JobFilter category = state.category(exitCode);
                  ended.put(
                      member,
                      new DependencyTargets.ParentEnd(
                          category == JobFilter.SUCCEEDED, endedHow(category)));
                }
              }
            }
            if (!members.isEmpty()) {
              jobsOf.put(id, members);
            }
          }
          return new DependencyTargets(jobsOf, ended);
        });
  }

  @Override
  public List<RestoredJob> rerunCandidates(Collection<Long> ids) {
    Objects.requireNonNull(ids, "ids");
    String asked = jsonArray(ids);
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "WITH RECURSIVE coming(id) AS (SELECT value FROM json_each(?1)"
                      + " UNION SELECT d.job_id FROM coming c"
                      + " JOIN job_dependencies d ON d.parent_id = c.id"
                      + " JOIN jobs j ON j.id = d.job_id"
                      + " WHERE j.state = "
                      + Schema.literal(JobState.CANCELED)
                      + " AND j.note LIKE 'dependency on job ' || c.id || ' failed%')"
                      + " SELECT j.id, j.slots, j.cpus, j.ram_mb, j.global_resources, j.attempt,"
                      + " j.submitted, j.priority, j.state, j.retries, j.retry_delay_s,"
                      + " j.worker_resources, j.gpu_ram_mb"
                      + " FROM jobs j JOIN coming ON j.id = coming.id"
                      + " ORDER BY j.id");
          query.setString(1, asked);
          List<RestoredJob> found = new ArrayList<>();
          try (ResultSet row = query.executeQuery()) {
            while (row.next()) {
              found.add(
                  new RestoredJob(
                      row.getLong(1),
                      JobState.valueOf(row.getString(9)),
                      new Resources(row.getInt(2), row.getInt(3), row.getLong(4)),
                      JsonColumns.resources(row.getString(5)),
                      row.getInt(6),
                      Instant.ofEpochMilli(row.getLong(7)),
                      // A job run again gets its retries afresh.
                      row.getInt(10),
                      0,
                      row.getLong(11),
                      null,
                      row.getString(12) == null ? Map.of() : JsonColumns.amounts(row.getString(12)),
                      row.getLong(13),
                      Map.of(),
                      row.getInt(8),
                      List.of()));
            }
          }
          Map<Long, List<RestoredJob.RestoredDependency>> dependencies = new HashMap<>();
          PreparedStatement dependencyQuery =
              loan.prepare(
                  "SELECT d.job_id, d.kind, d.parent_id, p.state, p.exit_code"
                      + " FROM job_dependencies d LEFT JOIN jobs p ON p.id = d.parent_id"
                      + " WHERE d.job_id IN (SELECT value FROM json_each(?))");
          dependencyQuery.setString(1, jsonArray(found.stream().map(RestoredJob::jobId).toList()));
          try (ResultSet row = dependencyQuery.executeQuery()) {
            while (row.next()) {
              String state = row.getString(4);
              dependencies
                  .computeIfAbsent(row.getLong(1), id -> new ArrayList<>(1))
                  .add(
                      new RestoredJob.RestoredDependency(
                          DependencyKind.valueOf(row.getString(2)),
                          row.getLong(3),
                          state == null ? null : JobState.valueOf(state),
                          integerOrNull(row, "exit_code")));
            }
          }
          List<RestoredJob> jobs = new ArrayList<>(found.size());
          for (RestoredJob job : found) {
            jobs.add(
                new RestoredJob(
                    job.jobId(),
                    job.state(),
                    job.demand(),
                    job.globalResources(),
                    job.attempt(),
                    job.submitted(),
                    job.retries(),
                    job.retried(),
                    job.retryDelaySeconds(),
                    job.notBefore(),
                    job.workerResources(),
                    job.gpuRamMb(),
                    job.devices(),
                    job.priority(),
                    dependencies.getOrDefault(job.jobId(), List.of())));
          }
          return jobs;
        });
  }

  private static String jsonArray(Collection<Long> ids) {
    StringBuilder array = new StringBuilder("[");
    for (Long id : ids) {
      if (array.length() > 1) {
        array.append(',');
      }
      array.append(Objects.requireNonNull(id, "job id"));
    }
    return array.append(']').toString();
  }

  /** How a job of this category ended, as a dependent's reason tells it. */
  private static String endedHow(JobFilter category) {
    return switch (category) {
      case SUCCEEDED -> "succeeded";
      case CANCELED -> "was canceled";
      default -> category.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    };
  }

  @Override
  public Optional<JobSpec> spec(long jobId) {
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT "
                      + SPEC_COLUMNS
                      + ", (SELECT json FROM envs WHERE envs.id = jobs.env_id) AS env"
                      + " FROM jobs WHERE id = ?");
          query.setLong(1, jobId);
          try (ResultSet row = query.executeQuery()) {
            if (!row.next()) {
              return Optional.empty();
            }
            String env = row.getString("env");
            return Optional.of(specFrom(row, env == null ? null : JsonColumns.env(env)));
          }
        });
  }

  @Override
  public Optional<JobSummary> summary(long jobId) {
    List<JobSummary> found = summaries(List.of(jobId));
    return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
  }

  @Override
  public List<JobSummary> summaries(List<Long> jobIds) {
    Objects.requireNonNull(jobIds, "jobIds");
    if (jobIds.isEmpty()) {
      return List.of();
    }
    StringBuilder idArray = new StringBuilder("[");
    for (Long id : jobIds) {
      if (idArray.length() > 1) {
        idArray.append(',');
      }
      idArray.append(Objects.requireNonNull(id, "job id"));
    }
    String ids = idArray.append(']').toString();
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT "
                      + SUMMARY_COLUMNS
                      + " FROM jobs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id");
          query.setString(1, ids);
          return summariesFrom(query);
        });
  }

  @Override
  public Optional<JobDetail> detail(long jobId) {
    return readers.read(
        loan -> {
          PreparedStatement jobQuery =
              loan.prepare(
                  "SELECT "
                      + SUMMARY_COLUMNS
                      + ", global_resources, stdout_target, stderr_target, submission_key,"
                      + " time_limit_s, retries, retry_delay_s, worker_resources, gpu_ram_mb, devices,"
                      + " hold, dependencies, keep_children, umask,"
                      + " (SELECT variables FROM envs WHERE envs.id = jobs.env_id) AS variables,"
                      + " history_offered, history_started, history_ended"
                      + " FROM jobs WHERE id = ?");
          jobQuery.setLong(1, jobId);
          JobSummary summary;
          JobSpec spec;
          int envVariables;
          Map<String, List<Integer>> devices;
          List<JobEvent> rowLines = new ArrayList<>(3);
          try (ResultSet row = jobQuery.executeQuery()) {
            if (!row.next()) {
              return Optional.empty();
            }
            summary = summaryFrom(row);
            spec = specFrom(row, null);
            devices = JsonColumns.devices(row.getString("devices"));
            int variables = row.getInt("variables");
            envVariables = row.wasNull() ? -1 : variables;
            // The current attempt's lines kept in the row come after every stored line: the
            // store writes them as rows before it writes any other line of the job.
            String endDetail =
                EventWriter.endDetail(summary.exitCode(), summary.signal(), summary.note());
            addRowLine(rowLines, row, "history_offered", summary, "offered", null);
            addRowLine(rowLines, row, "history_started", summary, "started", null);
            addRowLine(rowLines, row, "history_ended", summary, "ended", endDetail);
          }
          // The submission is not stored as a history row but comes from the job's own; rows
          // stored as "submitted" by earlier versions are left out so that it is not listed twice.
          PreparedStatement historyQuery =
              loan.prepare(
                  "SELECT time, attempt, what, worker, detail FROM job_events"
                      + " WHERE job_id = ? AND what <> 'submitted' ORDER BY id");
          historyQuery.setLong(1, jobId);
          List<JobEvent> history = new ArrayList<>();
          history.add(new JobEvent(summary.submitted(), 0, "submitted", null, null));
          try (ResultSet row = historyQuery.executeQuery()) {
            while (row.next()) {
              history.add(
                  new JobEvent(
                      Instant.ofEpochMilli(row.getLong("time")),
                      row.getInt("attempt"),
                      row.getString("what"),
                      row.getString("worker"),
                      row.getString("detail")));
            }
          }
          history.addAll(rowLines);
          PreparedStatement attemptsQuery =
              loan.prepare(
                  "SELECT DISTINCT attempt FROM outputs WHERE job_id = ? ORDER BY attempt");
          attemptsQuery.setLong(1, jobId);
          List<Integer> outputAttempts = new ArrayList<>();
          try (ResultSet row = attemptsQuery.executeQuery()) {
            while (row.next()) {
              outputAttempts.add(row.getInt(1));
            }
          }
          AttemptOutput last =
              outputAttempts.isEmpty()
                  ? new AttemptOutput(0, null, null)
                  : output(loan, jobId, outputAttempts.getLast())
                      .orElse(new AttemptOutput(0, null, null));
          List<DependencyStatus> dependencies = new ArrayList<>();
          if (!spec.dependencies().isEmpty()) {
            PreparedStatement dependencyQuery =
                loan.prepare(
                    "SELECT d.kind, d.parent_id, p.state, p.exit_code FROM job_dependencies d"
                        + " LEFT JOIN jobs p ON p.id = d.parent_id WHERE d.job_id = ?"
                        + " ORDER BY d.parent_id, d.kind");
            dependencyQuery.setLong(1, jobId);
            try (ResultSet row = dependencyQuery.executeQuery()) {
              while (row.next()) {
                String state = row.getString(3);
                dependencies.add(
                    new DependencyStatus(
                        DependencyKind.valueOf(row.getString(1)),
                        row.getLong(2),
                        state == null ? null : JobState.valueOf(state),
                        integerOrNull(row, "exit_code")));
              }
            }
          }
          return Optional.of(
              new JobDetail(
                  summary,
                  spec,
                  envVariables,
                  List.copyOf(history),
                  last.stdout(),
                  last.stderr(),
                  devices,
                  dependencies,
                  outputAttempts));
        });
  }

  @Override
  public Optional<AttemptOutput> output(long jobId, int attempt) {
    return readers.read(loan -> output(loan, jobId, attempt));
  }

  private static Optional<AttemptOutput> output(ReadConnections.Loan loan, long jobId, int attempt)
      throws SQLException {
    PreparedStatement query =
        loan.prepare(
            "SELECT stream, text, dropped_bytes, runs FROM outputs"
                + " WHERE job_id = ? AND attempt = ?");
    query.setLong(1, jobId);
    query.setInt(2, attempt);
    CapturedOutput stdout = null;
    CapturedOutput stderr = null;
    try (ResultSet row = query.executeQuery()) {
      while (row.next()) {
        CapturedOutput output =
            new CapturedOutput(
                row.getString("text"),
                row.getLong("dropped_bytes"),
                JsonColumns.numbers(row.getString("runs")));
        if (row.getString("stream").equals("stdout")) {
          stdout = output;
        } else {
          stderr = output;
        }
      }
    }
    return stdout == null && stderr == null
        ? Optional.empty()
        : Optional.of(new AttemptOutput(attempt, stdout, stderr));
  }

  private static void addRowLine(
      List<JobEvent> lines,
      ResultSet row,
      String column,
      JobSummary job,
      String what,
      String detail)
      throws SQLException {
    long time = row.getLong(column);
    if (!row.wasNull()) {
      lines.add(
          new JobEvent(Instant.ofEpochMilli(time), job.attempt(), what, job.worker(), detail));
    }
  }

  /**
   * Each filter is read newest first through the category index, at most limit rows each, and the
   * results merged; so the cost follows the limit, not the number of stored jobs.
   */
  @Override
  public List<JobSummary> list(int limit, List<JobFilter> filters) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be 0 (no limit) or positive: " + limit);
    }
    Objects.requireNonNull(filters, "filters");
    Set<JobFilter> distinct =
        filters.isEmpty() ? EnumSet.allOf(JobFilter.class) : EnumSet.copyOf(filters);
    long sqlLimit = limit == 0 ? -1 : limit;
    List<JobSummary> newestFirst =
        readers.read(
            loan -> {
              List<JobSummary> rows = new ArrayList<>();
              if (distinct.size() == JobFilter.values().length) {
                PreparedStatement query = loan.prepare(listQuery(null));
                query.setLong(1, sqlLimit);
                rows.addAll(summariesFrom(query));
              } else {
                for (JobFilter filter : distinct) {
                  PreparedStatement query = loan.prepare(listQuery(filter));
                  query.setString(1, filter.name());
                  query.setLong(2, sqlLimit);
                  rows.addAll(summariesFrom(query));
                }
              }
              return rows;
            });
    newestFirst.sort(Comparator.comparingLong(JobSummary::id).reversed());
    List<JobSummary> newest =
        limit == 0 || newestFirst.size() <= limit ? newestFirst : newestFirst.subList(0, limit);
    List<JobSummary> oldestFirst = new ArrayList<>(newest);
    Collections.reverse(oldestFirst);
    return oldestFirst;
  }

  @Override
  public long idBeforeNewest(Long batch, List<JobFilter> filters, int newest) {
    if (newest < 1) {
      throw new IllegalArgumentException("newest must be 1 or more: " + newest);
    }
    String where = pageConditions(batch, filters);
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT id FROM jobs WHERE 1" + where + " ORDER BY id DESC LIMIT 1 OFFSET ?");
          int parameter = 1;
          if (batch != null) {
            query.setLong(parameter++, batch);
          }
          query.setLong(parameter, newest - 1L);
          try (ResultSet row = query.executeQuery()) {
            return row.next() ? row.getLong(1) - 1 : 0L;
          }
        });
  }

  @Override
  public List<JobSummary> listAfter(Long batch, List<JobFilter> filters, long afterId, int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max must be 1 or more: " + max);
    }
    String where = pageConditions(batch, filters);
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT "
                      + SUMMARY_COLUMNS
                      + " FROM jobs WHERE id > ?"
                      + where
                      + " ORDER BY id LIMIT ?");
          int parameter = 1;
          query.setLong(parameter++, afterId);
          if (batch != null) {
            query.setLong(parameter++, batch);
          }
          query.setLong(parameter, max);
          return summariesFrom(query);
        });
  }

  /** The batch and category conditions of a page, each starting with AND. */
  private static String pageConditions(Long batch, List<JobFilter> filters) {
    Objects.requireNonNull(filters, "filters");
    Set<JobFilter> distinct =
        filters.isEmpty() ? EnumSet.allOf(JobFilter.class) : EnumSet.copyOf(filters);
    return (batch == null ? "" : " AND batch_id = ?")
        + (distinct.size() == JobFilter.values().length
            ? ""
            : " AND category IN " + sqlList(distinct));
  }

  @Override
  public List<Long> jobIdsWithSubmissionKey(String key) {
    Objects.requireNonNull(key, "key");
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare("SELECT id FROM jobs WHERE submission_key = ? ORDER BY id");
          query.setString(1, key);
          List<Long> ids = new ArrayList<>();
          try (ResultSet row = query.executeQuery()) {
            while (row.next()) {
              ids.add(row.getLong(1));
            }
          }
          return ids;
        });
  }

  /**
   * Read like {@link #list}: through the batch index when the query names a batch, else through the
   * category index once per state filter (merged here), else in id order; each read starts at the
   * cursor and stops at the page's size, so a page costs the same on the millionth job as on the
   * first, as long as matching jobs are not rare among the ones read.
   */
  @Override
  public List<JobSummary> page(JobQuery query) {
    Objects.requireNonNull(query, "query");
    if (!query.limitIsValid()) {
      throw new IllegalArgumentException(
          "limit must be 1 to " + JobQuery.MAX_LIMIT + ": " + query.limit());
    }
    Set<JobFilter> distinct =
        query.filters().isEmpty()
            ? EnumSet.allOf(JobFilter.class)
            : EnumSet.copyOf(query.filters());
    if (query.byState()) {
      return pageByState(query, distinct);
    }
    boolean allStates = distinct.size() == JobFilter.values().length;
    List<List<JobFilter>> reads =
        query.batch() != null || allStates
            ? List.of(allStates ? List.of() : List.copyOf(distinct))
            : distinct.stream().map(List::of).toList();
    List<JobSummary> rows =
        readers.read(
            loan -> {
              List<JobSummary> found = new ArrayList<>();
              for (List<JobFilter> categories : reads) {
                List<Object> parameters = new ArrayList<>();
                PreparedStatement statement =
                    loan.prepare(pageQuery(query, categories, parameters));
                for (int i = 0; i < parameters.size(); i++) {
                  statement.setObject(i + 1, parameters.get(i));
                }
                found.addAll(summariesFrom(statement));
              }
              return found;
            });
    Comparator<JobSummary> byId = Comparator.comparingLong(JobSummary::id);
    rows.sort(query.newestFirst() ? byId.reversed() : byId);
    return rows.size() <= query.limit() ? rows : List.copyOf(rows.subList(0, query.limit()));
  }

  /**
   * A page by state, then id: one read of the category index per state, from the cursor's state on,
   * each in id order, until the page is full; at most one read per state whatever is stored.
   */
  private List<JobSummary> pageByState(JobQuery query, Set<JobFilter> states) {
    List<JobFilter> order = new ArrayList<>(states);
    if (query.newestFirst()) {
      java.util.Collections.reverse(order);
    }
    int first = query.afterState() == null ? 0 : Math.max(0, order.indexOf(query.afterState()));
    if (query.afterState() != null && !states.contains(query.afterState())) {
      // A cursor in a state no longer asked for: the states after it in the same order.
      first = 0;
      while (first < order.size()
          && (query.newestFirst()
              ? order.get(first).ordinal() > query.afterState().ordinal()
              : order.get(first).ordinal() < query.afterState().ordinal())) {
        first++;
      }
    }
    int from = first;
    return readers.read(
        loan -> {
          List<JobSummary> found = new ArrayList<>();
          for (int i = from; i < order.size() && found.size() < query.limit(); i++) {
            JobFilter state = order.get(i);
            Long after = state == query.afterState() ? query.after() : null;
            List<Object> parameters = new ArrayList<>();
            PreparedStatement statement =
                loan.prepare(
                    pageQuery(
                        query.byIdFrom(after, query.limit() - found.size()),
                        List.of(state),
                        parameters));
            for (int p = 0; p < parameters.size(); p++) {
              statement.setObject(p + 1, parameters.get(p));
            }
            found.addAll(summariesFrom(statement));
          }
          return found;
        });
  }

  /** Through the index of end times, so the cost follows the jobs that ended since then. */
  @Override
  public java.util.SortedMap<Long, Long> endedPerMinute(Instant since) {
    Objects.requireNonNull(since, "since");
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT ended / 60000 * 60, count(*) FROM jobs"
                      + " WHERE ended >= ? AND category IN ('SUCCEEDED', 'FAILED')"
                      + " GROUP BY 1 ORDER BY 1");
          query.setLong(1, since.toEpochMilli());
          java.util.SortedMap<Long, Long> counts = new java.util.TreeMap<>();
          try (ResultSet row = query.executeQuery()) {
            while (row.next()) {
              counts.put(row.getLong(1), row.getLong(2));
            }
          }
          return counts;
        });
  }

  /** The SQL of one read of {@link #page}; fills in its parameters. Visible for tests. */
  static String pageQuery(JobQuery query, List<JobFilter> categories, List<Object> parameters) {
    List<String> conditions = new ArrayList<>();
    if (query.batch() != null) {
      conditions.add("batch_id = ?");
      parameters.add(query.batch());
    }
    if (categories.size() == 1) {
      conditions.add("category = ?");
      parameters.add(categories.getFirst().name());
    } else if (!categories.isEmpty()) {
      conditions.add("category IN " + Schema.sqlList(categories));
    }
    if (query.worker() != null) {
      conditions.add("worker = ?");
      parameters.add(query.worker());
    }
    if (query.text() != null) {
      String pattern = "%" + query.text().replaceAll("([\\\\%_])", "\\\\$1") + "%";
      conditions.add(
          "(argv LIKE ? ESCAPE '\\' OR cwd LIKE ? ESCAPE '\\' OR note LIKE ? ESCAPE '\\')");
      parameters.add(pattern);
      parameters.add(pattern);
      parameters.add(pattern);
    }
    if (query.after() != null) {
      conditions.add(query.newestFirst() ? "id < ?" : "id > ?");
      parameters.add(query.after());
    }
    parameters.add(query.limit());
    return "SELECT "
        + SUMMARY_COLUMNS
        + " FROM jobs"
        + (conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions))
        + " ORDER BY id "
        + (query.newestFirst() ? "DESC" : "ASC")
        + " LIMIT ?";
  }

  /** The SQL that lists one filter (or all jobs when null), newest first; visible for tests. */
  static String listQuery(JobFilter filter) {
    return "SELECT "
        + SUMMARY_COLUMNS
        + " FROM jobs"
        + (filter == null ? "" : " WHERE category = ?")
        + " ORDER BY id DESC LIMIT ?";
  }

  /**
   * Counts per state, with FINISHED split into succeeded (exit code 0) and failed, read from
   * counters the database keeps up to date, plus the running jobs' start times.
   *
   * <p>Average run time: with F the run times (end - start) of finished jobs that started and R the
   * elapsed times (now - start) of running jobs, the average is {@code max(mean(F), mean(F + R))};
   * with no finished job it is unknown (null): running jobs only say how long jobs take at least,
   * and an average made of them alone was far too short for long jobs.
   *
   * <p>ETA of the remaining jobs, null when there is no basis for one: no average, or nothing
   * running (the jobs may never run at all, e.g. when no worker fits them). With W the waiting
   * (pending and offered) jobs and N the running ones: {@code max(0, avg - min(R))} for the running
   * jobs (the newest running job is assumed to need the average), plus for the waiting ones {@code
   * W * avg / N} when {@code W > N > 0}, {@code W * avg} when {@code N = 0}, and {@code avg} when
   * {@code 0 < W <= N} (they all start in the next round).
   */
  @Override
  public JobStats stats(Instant now) {
    Objects.requireNonNull(now, "now");
    record Snapshot(Map<JobFilter, long[]> counts, List<Long> runningStarts) {}
    Snapshot snapshot =
        readers.read(
            loan -> {
              Map<JobFilter, long[]> counts = new EnumMap<>(JobFilter.class);
              try (ResultSet row =
                  loan.prepare("SELECT category, jobs, timed, run_ms FROM job_counts")
                      .executeQuery()) {
                while (row.next()) {
                  counts.put(
                      JobFilter.valueOf(row.getString(1)),
                      new long[] {row.getLong(2), row.getLong(3), row.getLong(4)});
                }
              }
              List<Long> starts = new ArrayList<>();
              try (ResultSet row =
                  loan.prepare(
                          "SELECT started FROM jobs"
                              + " WHERE category = 'RUNNING' AND started IS NOT NULL")
                      .executeQuery()) {
                while (row.next()) {
                  starts.add(row.getLong(1));
                }
              }
              return new Snapshot(counts, starts);
            });
    return statsFrom(snapshot.counts(), snapshot.runningStarts(), now);
  }

  /**
   * @param counts per category: jobs, how many of them have start and end, summed run milliseconds
   * @param runningStarts start times (epoch millis) of the running jobs
   */
  private static JobStats statsFrom(
      Map<JobFilter, long[]> counts, List<Long> runningStarts, Instant now) {
    long[] zero = {0, 0, 0};
    long[] succeeded = counts.getOrDefault(JobFilter.SUCCEEDED, zero);
    long[] failed = counts.getOrDefault(JobFilter.FAILED, zero);
    long pending = counts.getOrDefault(JobFilter.PENDING, zero)[0];
    long offered = counts.getOrDefault(JobFilter.OFFERED, zero)[0];
    long running = counts.getOrDefault(JobFilter.RUNNING, zero)[0];
    long finishedTimed = succeeded[1] + failed[1];
    double finishedSeconds = (succeeded[2] + failed[2]) / 1000.0;
    List<Double> elapsed = new ArrayList<>();
    for (long started : runningStarts) {
      elapsed.add(Math.max(0, now.toEpochMilli() - started) / 1000.0);
    }
    Double average = averageRunSeconds(finishedTimed, finishedSeconds, elapsed);
    Double eta =
        average == null || elapsed.isEmpty()
            ? null
            : etaSeconds(average, pending + offered, elapsed);
    return new JobStats(
        pending,
        offered,
        running,
        succeeded[0],
        failed[0],
        counts.getOrDefault(JobFilter.CANCELED, zero)[0],
        counts.getOrDefault(JobFilter.TIMED_OUT, zero)[0],
        average,
        eta,
        counts.getOrDefault(JobFilter.HELD, zero)[0],
        counts.getOrDefault(JobFilter.WAITING, zero)[0]);
  }

  private static Double averageRunSeconds(
      long finishedCount, double finishedSeconds, List<Double> runningElapsed) {
    double runningSeconds = runningElapsed.stream().mapToDouble(Double::doubleValue).sum();
    if (finishedCount > 0) {
      double finishedMean = finishedSeconds / finishedCount;
      double overallMean =
          (finishedSeconds + runningSeconds) / (finishedCount + runningElapsed.size());
      return Math.max(finishedMean, overallMean);
    }
    return null;
  }

  private static double etaSeconds(double average, long waiting, List<Double> runningElapsed) {
    int running = runningElapsed.size();
    double newestElapsed = runningElapsed.stream().min(Double::compare).orElse(0.0);
    double forRunning = Math.max(0, average - newestElapsed);
    double forWaiting;
    if (waiting > running) {
      forWaiting = waiting * average / running;
    } else {
      forWaiting = waiting > 0 ? average : 0;
    }
    return forRunning + forWaiting;
  }

  private static List<JobSummary> summariesFrom(PreparedStatement query) throws SQLException {
    List<JobSummary> summaries = new ArrayList<>();
    try (ResultSet row = query.executeQuery()) {
      while (row.next()) {
        summaries.add(summaryFrom(row));
      }
    }
    return summaries;
  }

  private static JobSummary summaryFrom(ResultSet row) throws SQLException {
    return JobSummaryBuilder.builder()
        .id(row.getLong("id"))
        .state(JobState.valueOf(row.getString("state")))
        .command(CommandLines.join(JsonColumns.argv(row.getString("argv"))))
        .cwd(row.getString("cwd"))
        .slots(row.getInt("slots"))
        .cpus(row.getInt("cpus"))
        .ramMb(row.getLong("ram_mb"))
        .attempt(row.getInt("attempt"))
        .worker(row.getString("worker"))
        .submitted(instantOrNull(row, "submitted"))
        .started(instantOrNull(row, "started"))
        .ended(instantOrNull(row, "ended"))
        .exitCode(integerOrNull(row, "exit_code"))
        .signal(integerOrNull(row, "signal"))
        .note(row.getString("note"))
        .batch(longOrNull(row, "batch_id"))
        .arrayIndex(longOrNull(row, "array_index"))
        .priority(row.getInt("priority"))
        .build();
  }

  private static JobSpec specFrom(ResultSet row, Map<String, String> env) throws SQLException {
    return JobSpecBuilder.builder()
        .argv(JsonColumns.argv(row.getString("argv")))
        .cwd(row.getString("cwd"))
        .env(env)
        .slots(row.getInt("slots"))
        .cpus(row.getInt("cpus"))
        .ramMb(row.getLong("ram_mb"))
        .globalResources(JsonColumns.resources(row.getString("global_resources")))
        .stdout(row.getString("stdout_target"))
        .stderr(row.getString("stderr_target"))
        .batch(longOrNull(row, "batch_id"))
        .arrayIndex(longOrNull(row, "array_index"))
        .timeLimitSeconds(longOrNull(row, "time_limit_s"))
        .retries(integerOrNull(row, "retries"))
        .retryDelaySeconds(longOrNull(row, "retry_delay_s"))
        .submissionKey(row.getString("submission_key"))
        .workerResources(JsonColumns.amounts(row.getString("worker_resources")))
        .gpuRamMb(row.getLong("gpu_ram_mb"))
        .priority(row.getInt("priority"))
        .hold(row.getInt("hold") != 0)
        .dependencies(dependenciesOrNone(row.getString("dependencies")))
        .keepChildren(row.getInt("keep_children") != 0)
        .umask(integerOrNull(row, "umask"))
        .build();
  }

  private static List<Dependency> dependenciesOrNone(String text) {
    return text == null ? List.of() : Dependency.parse(text);
  }

  private static Instant instantOrNull(ResultSet row, String column) throws SQLException {
    long millis = row.getLong(column);
    return row.wasNull() ? null : Instant.ofEpochMilli(millis);
  }

  private static Integer integerOrNull(ResultSet row, String column) throws SQLException {
    int value = row.getInt(column);
    return row.wasNull() ? null : value;
  }

  private static Long longOrNull(ResultSet row, String column) throws SQLException {
    long value = row.getLong(column);
    return row.wasNull() ? null : value;
  }

  @Override
  public List<JobSummary> listBatch(long batch, int limit, List<JobFilter> filters) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be 0 (no limit) or positive: " + limit);
    }
    Objects.requireNonNull(filters, "filters");
    Set<JobFilter> distinct =
        filters.isEmpty() ? EnumSet.allOf(JobFilter.class) : EnumSet.copyOf(filters);
    String categories =
        distinct.size() == JobFilter.values().length ? "" : " AND category IN " + sqlList(distinct);
    List<JobSummary> newestFirst =
        readers.read(
            loan -> {
              PreparedStatement query =
                  loan.prepare(
                      "SELECT "
                          + SUMMARY_COLUMNS
                          + " FROM jobs WHERE batch_id = ?"
                          + categories
                          + " ORDER BY id DESC LIMIT ?");
              query.setLong(1, batch);
              query.setLong(2, limit == 0 ? -1 : limit);
              return summariesFrom(query);
            });
    List<JobSummary> oldestFirst = new ArrayList<>(newestFirst);
    Collections.reverse(oldestFirst);
    return oldestFirst;
  }

  @Override
  public Optional<BatchSummary> batch(long batch, Instant now) {
    Objects.requireNonNull(now, "now");
    return readers.read(loan -> Optional.ofNullable(batchSummary(loan, batch, now)));
  }

  @Override
  public List<BatchSummary> batches(int limit, List<JobFilter> filters, Instant now) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be 0 (no limit) or positive: " + limit);
    }
    Objects.requireNonNull(filters, "filters");
    Objects.requireNonNull(now, "now");
    Set<JobFilter> distinct =
        filters.isEmpty() ? EnumSet.allOf(JobFilter.class) : EnumSet.copyOf(filters);
    String categories =
        distinct.size() == JobFilter.values().length ? "" : " AND category IN " + sqlList(distinct);
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT DISTINCT batch_id FROM jobs WHERE batch_id IS NOT NULL"
                      + categories
                      + " ORDER BY batch_id DESC LIMIT ?");
          query.setLong(1, limit == 0 ? -1 : limit);
          List<Long> newestFirst = new ArrayList<>();
          try (ResultSet row = query.executeQuery()) {
            while (row.next()) {
              newestFirst.add(row.getLong(1));
            }
          }
          List<BatchSummary> oldestFirst = new ArrayList<>(newestFirst.size());
          for (long batch : newestFirst.reversed()) {
            BatchSummary summary = batchSummary(loan, batch, now);
            if (summary != null) {
              oldestFirst.add(summary);
            }
          }
          return oldestFirst;
        });
  }

  @Override
  public List<Long> activeJobIds(long batch) {
    return readers.read(
        loan -> {
          PreparedStatement query =
              loan.prepare(
                  "SELECT id FROM jobs WHERE batch_id = ? AND category IN "
                      + ACTIVE_CATEGORIES
                      + " ORDER BY id");
          query.setLong(1, batch);
          List<Long> ids = new ArrayList<>();
          try (ResultSet row = query.executeQuery()) {
            while (row.next()) {
              ids.add(row.getLong(1));
            }
          }
          return ids;
        });
  }

  /**
   * One pass over the batch's rows (through jobs_by_batch) gives the counts per category; the
   * running jobs' start times and the first and failing jobs' rows are read by id after it.
   */
  private static BatchSummary batchSummary(ReadConnections.Loan loan, long batch, Instant now)
      throws SQLException {
    PreparedStatement countQuery =
        loan.prepare(
            "SELECT category, count(*), sum(started IS NOT NULL AND ended IS NOT NULL),"
                + " sum(coalesce(ended - started, 0)), min(id), max(id), max(ended)"
                + " FROM jobs WHERE batch_id = ? GROUP BY category");
    countQuery.setLong(1, batch);
    Map<JobFilter, long[]> counts = new EnumMap<>(JobFilter.class);
    long jobs = 0;
    long firstJob = Long.MAX_VALUE;
    long lastJob = Long.MIN_VALUE;
    long firstFailure = Long.MAX_VALUE;
    long lastEnd = Long.MIN_VALUE;
    try (ResultSet row = countQuery.executeQuery()) {
      while (row.next()) {
        JobFilter category = JobFilter.valueOf(row.getString(1));
        counts.put(category, new long[] {row.getLong(2), row.getLong(3), row.getLong(4)});
        jobs += row.getLong(2);
        firstJob = Math.min(firstJob, row.getLong(5));
        lastJob = Math.max(lastJob, row.getLong(6));
        if (category == JobFilter.FAILED
            || category == JobFilter.CANCELED
            || category == JobFilter.TIMED_OUT) {
          firstFailure = Math.min(firstFailure, row.getLong(5));
        }
        long ended = row.getLong(7);
        if (!row.wasNull()) {
          lastEnd = Math.max(lastEnd, ended);
        }
      }
    }
    if (jobs == 0) {
      return null;
    }
    List<Long> runningStarts = new ArrayList<>();
    if (counts.containsKey(JobFilter.RUNNING)) {
      PreparedStatement startQuery =
          loan.prepare(
              "SELECT started FROM jobs"
                  + " WHERE batch_id = ? AND category = 'RUNNING' AND started IS NOT NULL");
      startQuery.setLong(1, batch);
      try (ResultSet row = startQuery.executeQuery()) {
        while (row.next()) {
          runningStarts.add(row.getLong(1));
        }
      }
    }
    JobStats stats = statsFrom(counts, runningStarts, now);
    JobSummary first = summaryById(loan, firstJob);
    JobSummary failure = firstFailure == Long.MAX_VALUE ? null : summaryById(loan, firstFailure);
    boolean ended = stats.pending() + stats.offered() + stats.running() == 0;
    return new BatchSummary(
        batch,
        first.command(),
        first.cwd(),
        firstJob,
        lastJob,
        jobs,
        first.submitted(),
        ended && lastEnd != Long.MIN_VALUE ? Instant.ofEpochMilli(lastEnd) : null,
        stats,
        failure);
  }

  private static JobSummary summaryById(ReadConnections.Loan loan, long id) throws SQLException {
    PreparedStatement query = loan.prepare("SELECT " + SUMMARY_COLUMNS + " FROM jobs WHERE id = ?");
    query.setLong(1, id);
    return summariesFrom(query).getFirst();
  }

  private static String endedCategories(boolean includeFailed) {
    Set<JobFilter> categories = EnumSet.noneOf(JobFilter.class);
    for (JobState state : JobState.values()) {
      if (state.isTerminal()) {
        categories.addAll(Schema.categories(state));
      }
    }
    if (!includeFailed) {
      categories.remove(JobFilter.FAILED);
      categories.remove(JobFilter.TIMED_OUT);
    }
    return sqlList(categories);
  }

  private static String sqlList(Set<JobFilter> filters) {
    StringBuilder list = new StringBuilder("(");
    for (JobFilter filter : filters) {
      list.append(list.length() > 1 ? ", '" : "'").append(filter.name()).append('\'');
    }
    return list.append(')').toString();
  }

  /** How many distinct environments are stored; visible for tests of the deduplication. */
  long storedEnvironments() {
    return readers.read(
        loan -> {
          try (ResultSet row = loan.prepare("SELECT count(*) FROM envs").executeQuery()) {
            row.next();
            return row.getLong(1);
          }
        });
  }

  Path databaseFile() {
    return databaseFile;
  }

  @Override
  public void close() {
    closing = true;
    Statement running = checking;
    if (running != null) {
      // Closing must not wait seconds for a check nobody needs any more.
      try {
        running.cancel();
      } catch (SQLException ignored) {
        // The check ends by itself; closing the connections waits for it.
      }
    }
    synchronized (writeLock) {
      if (closed) {
        return;
      }
      closed = true;
      checkpoints.close();
      readers.close();
      writer.close();
      try {
        lock.release();
        lockChannel.close();
      } catch (IOException ignored) {
        // Closing the channel releases the lock; the process exit would too.
      }
    }
  }
}
