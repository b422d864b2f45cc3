package kueue.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.core.Event;
import kueue.core.Event.FinishedJobsExpired;
import kueue.core.Event.JobBlocked;
import kueue.core.Event.JobCanceled;
import kueue.core.Event.JobDeclined;
import kueue.core.Event.JobEnded;
import kueue.core.Event.JobFailed;
import kueue.core.Event.JobHeld;
import kueue.core.Event.JobOffered;
import kueue.core.Event.JobQueued;
import kueue.core.Event.JobReleased;
import kueue.core.Event.JobRequeued;
import kueue.core.Event.JobRerun;
import kueue.core.Event.JobRetried;
import kueue.core.Event.JobStarted;
import kueue.core.Event.JobTimedOut;
import kueue.core.Event.JobUnblocked;
import kueue.core.Event.JobUpdated;
import kueue.model.CapturedOutput;
import kueue.model.Dependency;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobTransition;
import org.sqlite.SQLiteConnection;

/**
 * The only user of the write connection: turns events into rows, one transaction per batch, with
 * statements prepared once. Not thread-safe; {@link SqliteJobStore} serialises calls.
 */
final class EventWriter implements AutoCloseable {

  /**
   * Each update moves one job that has not ended; the scheduler checks that the move is one of
   * {@link JobTransition} from the job's state, the store only that it does not revive a job.
   */
  private static final String NOT_TERMINAL = " AND state NOT IN " + Schema.TERMINAL_STATES;

  static final String EXPIRED = "ended < ? AND state IN " + Schema.TERMINAL_STATES;
  static final String BY_END = "ended";

  /** The note of a job its worker stopped at its time limit. */
  static final String TIME_LIMIT_REACHED = "stopped at its time limit";

  private static final int CACHED_ENVIRONMENTS = 64;

  private final Connection connection;
  private final String databaseName;
  private final PreparedStatement insertJob;
  private final PreparedStatement insertOfferedJob;
  private final PreparedStatement insertHeldJob;
  private final PreparedStatement insertWaitingJob;
  private final PreparedStatement insertDependencies;
  private final PreparedStatement markHeld;
  private final PreparedStatement markReleased;
  private final PreparedStatement markBlocked;
  private final PreparedStatement markUnblocked;
  private final PreparedStatement markUpdated;
  private final PreparedStatement markAllUnblocked;
  private final List<Long> unblocked = new ArrayList<>();
  private final PreparedStatement findDependencyTargets;
  private final PreparedStatement markRerun;
  private final PreparedStatement keepEndedLine;
  private final PreparedStatement deleteOldOutputs;

  /** The jobs each id named by a dependency stands for, looked up once per batch of events. */
  private final Map<Long, List<Long>> dependencyTargets = new HashMap<>();

  private final PreparedStatement findEnv;
  private final PreparedStatement insertEnv;
  private final PreparedStatement insertHistory;
  private final PreparedStatement insertHistoryFromJob;
  private final PreparedStatement keepOfferedLine;
  private final PreparedStatement keepStartedLine;
  private final PreparedStatement markOffered;
  private final PreparedStatement markPending;
  private final PreparedStatement markRunning;
  private final PreparedStatement markEnded;
  private final PreparedStatement markTimedOut;
  private final PreparedStatement markRetried;
  private final PreparedStatement markRequeued;
  private final PreparedStatement markCanceled;
  private final PreparedStatement markFailed;
  private final PreparedStatement insertOutput;
  private final PreparedStatement findState;
  private final PreparedStatement saveNextJobId;

  /** Environment hash to row id; only valid for committed rows, so cleared on rollback. */
  private final Map<String, Long> envIds =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
          return size() > CACHED_ENVIRONMENTS;
        }
      };

  /**
   * The jobs of a batch share one environment object: remembering the last one by identity spares
   * serialising and hashing it again for each of 100,000 jobs. Valid like {@link #envIds}.
   */
  private Map<String, String> lastEnv;

  /** See {@link #findFolds}; filled per batch. Keyed by identity: events are records. */
  private final Map<JobQueued, JobOffered> offeredWithQueue = new IdentityHashMap<>();

  private final Map<JobEnded, JobStarted> startedWithEnd = new IdentityHashMap<>();

  /** A job queued and held or left waiting in one batch: the move that gives its first state. */
  private final Map<JobQueued, Event> keptWithQueue = new IdentityHashMap<>();

  private final Map<Event, Boolean> foldedAway = new IdentityHashMap<>();

  /** The argv of the last job written and its JSON: a sweep often repeats one command. */
  private List<String> lastArgv;

  private String lastArgvJson;

  private long lastEnvId;

  private long nextJobId;

  EventWriter(Connection connection, String databaseName) throws SQLException {
    this.connection = connection;
    this.databaseName = databaseName;
    connection.setAutoCommit(false);
    // Every insert would otherwise be followed by a query for its row id, which nothing here
    // reads (the one place that needs it asks for last_insert_rowid() itself).
    connection.unwrap(SQLiteConnection.class).getConnectionConfig().setGetGeneratedKeys(false);
    insertJob = prepare(insertQueued(JobTransition.QUEUED));
    // A job held or left waiting in the batch that queued it is written once, in that state.
    insertHeldJob = prepare(insertQueued(JobTransition.HELD));
    insertWaitingJob = prepare(insertQueued(JobTransition.BLOCKED));
    // A batch id stands for every job of the batch, a job id for itself.
    insertDependencies =
        prepare(
            "INSERT OR IGNORE INTO job_dependencies (job_id, parent_id, kind) VALUES (?, ?, ?)");
    findDependencyTargets =
        prepare("SELECT id FROM jobs WHERE id = ?1 UNION SELECT id FROM jobs WHERE batch_id = ?1");
    markRerun =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.RERUN)
                + ", started = NULL, ended = NULL, exit_code = NULL, signal = NULL, note = NULL,"
                + " history_offered = NULL, history_started = NULL, history_ended = NULL"
                + " WHERE id = ? AND state IN "
                + Schema.TERMINAL_STATES);
    // The ended line of the attempt, kept in the row, becomes a row before the next attempt.
    keepEndedLine =
        prepare(
            "INSERT INTO job_events (job_id, time, attempt, what, worker, detail)"
                + " SELECT id, history_ended, attempt, 'ended', worker,"
                + " CASE WHEN note IS NOT NULL THEN note"
                + " WHEN signal IS NOT NULL THEN 'signal ' || signal"
                + " WHEN exit_code IS NOT NULL THEN 'exit ' || exit_code END"
                + " FROM jobs WHERE id = ? AND history_ended IS NOT NULL");
    deleteOldOutputs = prepare("DELETE FROM outputs WHERE job_id = ? AND attempt <= ?");
    markHeld =
        prepare(
            "UPDATE jobs SET state = " + to(JobTransition.HELD) + " WHERE id = ?" + NOT_TERMINAL);
    markReleased =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.RELEASED)
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markBlocked =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.BLOCKED)
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markUnblocked =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.UNBLOCKED)
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markAllUnblocked =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.UNBLOCKED)
                + " WHERE id IN (SELECT value FROM json_each(?))"
                + NOT_TERMINAL);
    markUpdated =
        prepare(
            "UPDATE jobs SET priority = coalesce(?1, priority),"
                + " time_limit_s = CASE WHEN ?2 IS NULL THEN time_limit_s ELSE nullif(?2, 0) END,"
                + " retries = CASE WHEN ?3 IS NULL THEN retries ELSE nullif(?3, 0) END"
                + " WHERE id = ?4"
                + NOT_TERMINAL);
    // A job offered in the batch that queued it (an idle fleet) is written once, as offered.
    insertOfferedJob =
        prepare(
            "INSERT INTO jobs (id, state, argv, cwd, env_id, slots, cpus, ram_mb, global_resources,"
                + " stdout_target, stderr_target, time_limit_s, retries, retry_delay_s, attempt,"
                + " submitted, batch_id, array_index, submission_key, worker_resources, gpu_ram_mb,"
                + " priority, hold, dependencies, keep_children, umask, worker, history_offered,"
                + " devices)"
                + " VALUES (?, "
                + to(JobTransition.OFFERED)
                + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                + " ?)");
    findEnv = prepare("SELECT id FROM envs WHERE hash = ?");
    insertEnv = prepare("INSERT INTO envs (hash, variables, json) VALUES (?, ?, ?)");
    insertHistory =
        prepare(
            "INSERT INTO job_events (job_id, time, attempt, what, worker, detail)"
                + " VALUES (?, ?, ?, ?, ?, ?)");
    // Written before the job's row changes, so the worker is the one that held the job.
    insertHistoryFromJob =
        prepare(
            "INSERT INTO job_events (job_id, time, attempt, what, worker, detail)"
                + " SELECT id, ?, coalesce(?, attempt), ?,"
                + " CASE WHEN state IN "
                + Schema.ON_WORKER_STATES
                + " THEN worker END, ?"
                + " FROM jobs WHERE id = ?");
    // The current attempt's lines kept in the row become rows before any other line is written
    // (see Schema.MIGRATIONS, version 3); the statements that write such a line clear them.
    keepOfferedLine =
        prepare(
            "INSERT INTO job_events (job_id, time, attempt, what, worker)"
                + " SELECT id, history_offered, attempt, 'offered', worker"
                + " FROM jobs WHERE id = ? AND history_offered IS NOT NULL");
    keepStartedLine =
        prepare(
            "INSERT INTO job_events (job_id, time, attempt, what, worker)"
                + " SELECT id, history_started, attempt, 'started', worker"
                + " FROM jobs WHERE id = ? AND history_started IS NOT NULL");
    String noRowLines = ", history_offered = NULL, history_started = NULL, history_ended = NULL";
    markOffered =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.OFFERED)
                + ", attempt = ?, worker = ?, started = NULL,"
                + " history_offered = ?, history_started = NULL, history_ended = NULL, devices = ?"
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markPending =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.DECLINED)
                + noRowLines
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markRunning =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.STARTED)
                + ", started = ?, history_started = ? WHERE id = ?"
                + NOT_TERMINAL);
    markEnded = prepare(endUpdate(JobTransition.ENDED));
    markTimedOut = prepare(endUpdate(JobTransition.TIMED_OUT));
    markRetried =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.RETRIED)
                + ", started = NULL, retried = ?, not_before = ?"
                + noRowLines
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markRequeued =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.REQUEUED)
                + ", started = NULL"
                + noRowLines
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markCanceled =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.CANCELED)
                + ", ended = ?, note = ?"
                + noRowLines
                + " WHERE id = ?"
                + NOT_TERMINAL);
    markFailed =
        prepare(
            "UPDATE jobs SET state = "
                + to(JobTransition.FAILED)
                + ", exit_code = NULL, signal = NULL, note = ?,"
                + " ended = ?"
                + noRowLines
                + " WHERE id = ?"
                + NOT_TERMINAL);
    insertOutput =
        prepare(
            "INSERT OR REPLACE INTO outputs (job_id, attempt, stream, text, dropped_bytes, runs)"
                + " VALUES (?, ?, ?, ?, ?, ?)");
    findState = prepare("SELECT state FROM jobs WHERE id = ?");
    saveNextJobId = prepare("UPDATE meta SET value = ? WHERE key = 'next_job_id'");
    try (Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery("SELECT value FROM meta WHERE key = 'next_job_id'")) {
      if (!row.next()) {
        throw new StoreException(databaseName + " is damaged: next_job_id is missing");
      }
      nextJobId = row.getLong(1);
    }
    connection.commit();
  }

  long nextJobId() {
    return nextJobId;
  }

  /**
   * Worker ids are rows of {@code meta} keyed {@code worker_id:NAME}: a key-value table every
   * version has, so keeping them needed no new table.
   */
  static final String WORKER_ID_KEY = "worker_id:";

  Map<String, Long> workerIds() {
    Map<String, Long> ids = new HashMap<>();
    try (PreparedStatement select =
        prepare("SELECT key, value FROM meta WHERE key >= ? AND key < ?")) {
      // Every key that starts with the prefix, through the primary key's order (';' follows ':').
      select.setString(1, WORKER_ID_KEY);
      select.setString(2, WORKER_ID_KEY.substring(0, WORKER_ID_KEY.length() - 1) + ";");
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          ids.put(rows.getString(1).substring(WORKER_ID_KEY.length()), rows.getLong(2));
        }
      }
      connection.commit();
      return ids;
    } catch (SQLException e) {
      rollback(e);
      throw new StoreException(
          "cannot read the worker ids from " + databaseName + ": " + e.getMessage(), e);
    }
  }

  void saveWorkerId(String name, long id) {
    try (PreparedStatement insert =
        prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")) {
      insert.setString(1, WORKER_ID_KEY + name);
      insert.setLong(2, id);
      insert.executeUpdate();
      connection.commit();
    } catch (SQLException e) {
      rollback(e);
      throw new StoreException(
          "cannot store the id of worker " + name + " in " + databaseName + ": " + e.getMessage(),
          e);
    }
  }

  /** The update that records how the current attempt ended, leaving the job in the move's state. */
  private static String endUpdate(JobTransition move) {
    return "UPDATE jobs SET state = "
        + to(move)
        + ", exit_code = ?, signal = ?, note = ?,"
        + " started = coalesce(?, started), ended = ?,"
        + " history_started = coalesce(?, history_started), history_ended = ? WHERE id = ?"
        + NOT_TERMINAL;
  }

  void persist(List<Event> events) {
    long next = nextJobId;
    Event current = null;
    dependencyTargets.clear();
    unblocked.clear();
    try {
      findFolds(events);
      for (Event event : events) {
        current = event;
        if (!(event instanceof JobUnblocked)) {
          writeUnblocked();
        }
        next = apply(event, next);
      }
      current = null;
      writeUnblocked();
      if (next != nextJobId) {
        saveNextJobId.setLong(1, next);
        saveNextJobId.executeUpdate();
      }
      connection.commit();
      nextJobId = next;
    } catch (SQLException | RuntimeException e) {
      rollback(e);
      String what = current == null ? "a batch of " + events.size() + " events" : describe(current);
      if (e instanceof StoreException) {
        throw new StoreException("cannot store " + what + ": " + e.getMessage(), e);
      }
      throw new StoreException(
          "cannot store " + what + " in " + databaseName + ": " + e.getMessage(), e);
    }
  }

  /**
   * Deletes at most limit of the finished and canceled jobs matching condition, with everything
   * they own, in a transaction of its own.
   */
  long deleteJobs(String condition, String order, Instant endedBefore, int limit) {
    try {
      long deleted = deleteJobsInTransaction(condition, order, endedBefore, limit);
      connection.commit();
      return deleted;
    } catch (SQLException e) {
      rollback(e);
      throw new StoreException(
          "cannot delete jobs from " + databaseName + ": " + e.getMessage(), e);
    }
  }

  /**
   * The same chunk of at most limit jobs is picked by each of the three statements: the first two
   * do not change the jobs table, and the order makes the choice deterministic.
   */
  private long deleteJobsInTransaction(
      String condition, String order, Instant endedBefore, int limit) throws SQLException {
    String chunk =
        "(SELECT id FROM jobs WHERE " + condition + " ORDER BY " + order + " LIMIT " + limit + ")";
    String jobs = " FROM jobs WHERE id IN " + chunk;
    String ownedByJobs = " WHERE job_id IN " + chunk;
    long deleted = 0;
    for (String sql :
        List.of(
            "DELETE FROM outputs" + ownedByJobs,
            "DELETE FROM job_dependencies" + ownedByJobs,
            "DELETE FROM job_events" + ownedByJobs,
            "DELETE" + jobs)) {
      try (PreparedStatement statement = connection.prepareStatement(sql)) {
        if (endedBefore != null) {
          statement.setLong(1, endedBefore.toEpochMilli());
        }
        deleted = statement.executeUpdate();
      }
    }
    if (deleted > 0) {
      try (Statement statement = connection.createStatement()) {
        statement.executeUpdate(
            "DELETE FROM envs WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.env_id = envs.id)");
      }
      forgetEnvironments();
    }
    return deleted;
  }

  /**
   * Finds the events whose row change the next event of the same job in this batch overwrites, so
   * that each job's row is written once per transaction where possible: a job queued and offered in
   * one batch is inserted as offered, and a job that started and ended in one batch is updated
   * once. Their history lines are written all the same. Only directly consecutive events of a job
   * are folded, so that no other change of the job can come between.
   */
  private void findFolds(List<Event> events) {
    offeredWithQueue.clear();
    startedWithEnd.clear();
    keptWithQueue.clear();
    Map<Long, Event> lastOfJob = new HashMap<>();
    for (Event event : events) {
      switch (event) {
        case JobQueued queued -> lastOfJob.put(queued.jobId(), queued);
        case JobOffered offered -> {
          if (lastOfJob.put(offered.jobId(), offered) instanceof JobQueued queued) {
            offeredWithQueue.put(queued, offered);
          }
        }
        case JobStarted started -> lastOfJob.put(started.jobId(), started);
        case JobEnded ended -> {
          if (lastOfJob.put(ended.jobId(), ended) instanceof JobStarted started
              && started.attempt() == ended.attempt()) {
            startedWithEnd.put(ended, started);
          }
        }
        case JobDeclined e -> lastOfJob.put(e.jobId(), e);
        case JobRequeued e -> lastOfJob.put(e.jobId(), e);
        case JobCanceled e -> lastOfJob.put(e.jobId(), e);
        case JobFailed e -> lastOfJob.put(e.jobId(), e);
        case JobTimedOut e -> lastOfJob.put(e.jobId(), e);
        case JobRetried e -> lastOfJob.put(e.jobId(), e);
        case JobHeld held -> {
          if (lastOfJob.put(held.jobId(), held) instanceof JobQueued queued) {
            keptWithQueue.put(queued, held);
          }
        }
        case JobBlocked blocked -> {
          if (lastOfJob.put(blocked.jobId(), blocked) instanceof JobQueued queued) {
            keptWithQueue.put(queued, blocked);
          }
        }
        case JobReleased e -> lastOfJob.put(e.jobId(), e);
        case JobUnblocked e -> lastOfJob.put(e.jobId(), e);
        case JobUpdated e -> lastOfJob.put(e.jobId(), e);
        case JobRerun e -> lastOfJob.put(e.jobId(), e);
        case FinishedJobsExpired e -> lastOfJob.clear();
      }
    }
    // The values mark the events whose own row change is skipped.
    foldedAway.clear();
    offeredWithQueue.values().forEach(e -> foldedAway.put(e, Boolean.TRUE));
    startedWithEnd.values().forEach(e -> foldedAway.put(e, Boolean.TRUE));
    keptWithQueue.values().forEach(e -> foldedAway.put(e, Boolean.TRUE));
  }

  private long apply(Event event, long nextJobId) throws SQLException {
    switch (event) {
      case JobQueued queued -> {
        queue(queued, nextJobId);
        return Math.max(nextJobId, queued.jobId() + 1);
      }
      case JobOffered offered -> {
        if (foldedAway.containsKey(offered)) {
          return nextJobId; // inserted as offered with its JobQueued
        }
        markOffered.setInt(1, offered.attempt());
        markOffered.setString(2, offered.workerName());
        markOffered.setLong(3, millis(offered.at()));
        markOffered.setString(4, JsonColumns.mapOrNull(offered.devices()));
        markOffered.setLong(5, offered.jobId());
        requireChanged(markOffered, offered.jobId());
      }
      case JobDeclined declined -> {
        keepRowLines(declined.jobId());
        history(
            declined.jobId(),
            declined.at(),
            declined.attempt(),
            "declined",
            declined.workerName(),
            declined.reason());
        markPending.setLong(1, declined.jobId());
        requireChanged(markPending, declined.jobId());
      }
      case JobStarted started -> {
        if (foldedAway.containsKey(started)) {
          return nextJobId; // its JobEnded writes the start time
        }
        markRunning.setLong(1, millis(started.at()));
        markRunning.setLong(2, millis(started.at()));
        markRunning.setLong(3, started.jobId());
        requireChanged(markRunning, started.jobId());
      }
      case JobEnded ended ->
          end(
              markEnded,
              ended.jobId(),
              ended.attempt(),
              ended.outcome(),
              ended.stdout(),
              ended.stderr(),
              ended.at(),
              startedWithEnd.get(ended));
      case JobTimedOut timedOut -> {
        JobOutcome outcome = timedOut.outcome();
        if (outcome.failure() == null) {
          outcome =
              new JobOutcome(
                  outcome.exitCode(),
                  outcome.signal(),
                  TIME_LIMIT_REACHED,
                  outcome.started(),
                  outcome.ended(),
                  true);
        }
        end(
            markTimedOut,
            timedOut.jobId(),
            timedOut.attempt(),
            outcome,
            timedOut.stdout(),
            timedOut.stderr(),
            timedOut.at(),
            null);
      }
      case JobRetried retried -> retry(retried);
      case JobRequeued requeued -> {
        keepRowLines(requeued.jobId());
        historyFromJob(
            requeued.jobId(), requeued.at(), requeued.lostAttempt(), "requeued", requeued.reason());
        markRequeued.setLong(1, requeued.jobId());
        requireChanged(markRequeued, requeued.jobId());
      }
      case JobCanceled canceled -> {
        keepRowLines(canceled.jobId());
        historyFromJob(canceled.jobId(), canceled.at(), null, "canceled", canceled.reason());
        markCanceled.setLong(1, millis(canceled.at()));
        markCanceled.setString(2, canceled.reason());
        markCanceled.setLong(3, canceled.jobId());
        requireChanged(markCanceled, canceled.jobId());
      }
      case JobFailed failed -> {
        keepRowLines(failed.jobId());
        historyFromJob(failed.jobId(), failed.at(), null, "failed", failed.reason());
        markFailed.setString(1, failed.reason());
        markFailed.setLong(2, millis(failed.at()));
        markFailed.setLong(3, failed.jobId());
        requireChanged(markFailed, failed.jobId());
      }
      case JobHeld held -> {
        // The history line is written even when the row was inserted held.
        history(held.jobId(), held.at(), 0, "held", null, null);
        if (!foldedAway.containsKey(held)) {
          markHeld.setLong(1, held.jobId());
          requireChanged(markHeld, held.jobId());
        }
      }
      case JobReleased released -> {
        history(released.jobId(), released.at(), 0, "released", null, null);
        markReleased.setLong(1, released.jobId());
        requireChanged(markReleased, released.jobId());
      }
      case JobBlocked blocked -> {
        if (!foldedAway.containsKey(blocked)) {
          markBlocked.setLong(1, blocked.jobId());
          requireChanged(markBlocked, blocked.jobId());
        }
      }
      case JobUnblocked unblocked -> unblocked(unblocked.jobId());
      case JobUpdated updated -> {
        if (updated.priority() != null) {
          history(
              updated.jobId(), updated.at(), 0, "updated", null, "priority " + updated.priority());
        }
        if (updated.timeLimitSeconds() != null) {
          history(
              updated.jobId(),
              updated.at(),
              0,
              "updated",
              null,
              updated.timeLimitSeconds() == 0
                  ? "no time limit"
                  : "time limit " + updated.timeLimitSeconds() + "s");
        }
        if (updated.retries() != null) {
          history(
              updated.jobId(), updated.at(), 0, "updated", null, "retries " + updated.retries());
        }
        setNullable(markUpdated, 1, updated.priority());
        setNullable(markUpdated, 2, updated.timeLimitSeconds());
        setNullable(markUpdated, 3, updated.retries());
        markUpdated.setLong(4, updated.jobId());
        requireChanged(markUpdated, updated.jobId());
      }
      case JobRerun rerun -> {
        keepRowLines(rerun.jobId());
        keepEndedLine.setLong(1, rerun.jobId());
        keepEndedLine.executeUpdate();
        history(rerun.jobId(), rerun.at(), 0, "requeued", null, rerun.reason());
        markRerun.setLong(1, rerun.jobId());
        if (markRerun.executeUpdate() != 1) {
          throw new StoreException("job " + rerun.jobId() + " is not stored or has not ended");
        }
      }
      case FinishedJobsExpired expired ->
          deleteJobsInTransaction(EXPIRED, BY_END, expired.endedBefore(), JobStore.EXPIRY_CHUNK);
    }
    return nextJobId;
  }

  private void queue(JobQueued queued, long nextJobId) throws SQLException {
    if (queued.jobId() < nextJobId) {
      throw new StoreException(
          "job id " + queued.jobId() + " was already handed out (next id is " + nextJobId + ")");
    }
    JobSpec spec = queued.spec();
    JobOffered offered = offeredWithQueue.get(queued);
    Event kept = keptWithQueue.get(queued);
    PreparedStatement insert =
        offered != null
            ? insertOfferedJob
            : kept instanceof JobHeld
                ? insertHeldJob
                : kept instanceof JobBlocked ? insertWaitingJob : insertJob;
    insert.setLong(1, queued.jobId());
    insert.setString(2, argvJson(spec.argv()));
    insert.setString(3, spec.cwd());
    if (spec.env() == null) {
      insert.setNull(4, Types.INTEGER);
    } else {
      insert.setLong(4, environmentId(spec.env()));
    }
    insert.setInt(5, spec.slots());
    insert.setInt(6, spec.cpus());
    insert.setLong(7, spec.ramMb());
    insert.setString(8, JsonColumns.resourcesOrNull(spec.globalResources()));
    insert.setString(9, spec.stdout());
    insert.setString(10, spec.stderr());
    setNullable(insert, 11, spec.timeLimitSeconds());
    setNullable(insert, 12, spec.retries());
    setNullable(insert, 13, spec.retryDelaySeconds());
    int column = 14;
    if (offered != null) {
      insert.setInt(column++, offered.attempt());
    }
    insert.setLong(column++, millis(queued.at()));
    setNullable(insert, column++, spec.batch());
    setNullable(insert, column++, spec.arrayIndex());
    insert.setString(column++, spec.submissionKey());
    insert.setString(column++, JsonColumns.mapOrNull(spec.workerResources()));
    setNullable(insert, column++, spec.gpuRamMb() == 0 ? null : spec.gpuRamMb());
    insert.setInt(column++, spec.priority());
    insert.setInt(column++, spec.hold() ? 1 : 0);
    List<Dependency> dependencies = spec.dependencies();
    if (dependencies.isEmpty()) {
      insert.setNull(column++, Types.VARCHAR);
    } else {
      insert.setString(column++, Dependency.format(dependencies));
    }
    insert.setInt(column++, spec.keepChildren() ? 1 : 0);
    if (spec.umask() == null) {
      insert.setNull(column++, Types.INTEGER);
    } else {
      insert.setInt(column++, spec.umask());
    }
    if (offered != null) {
      insert.setString(column++, offered.workerName());
      insert.setLong(column++, millis(offered.at()));
      insert.setString(column, JsonColumns.mapOrNull(offered.devices()));
    }
    insert.executeUpdate();
    for (Dependency dependency : dependencies) {
      for (long parent : dependencyTargets(dependency.jobId())) {
        insertDependencies.setLong(1, queued.jobId());
        insertDependencies.setLong(2, parent);
        insertDependencies.setString(3, dependency.kind().name());
        insertDependencies.executeUpdate();
      }
    }
    // No history row: a job's "submitted" line is read from its row (SqliteJobStore#detail),
    // which spares a row and an index entry per job.
  }

  /**
   * Jobs whose last dependency was met, written together by {@link #writeUnblocked} before the next
   * other event: the dependents of one job, a hundred thousand of them, are released by one
   * statement instead of one each.
   */
  private void unblocked(long jobId) {
    unblocked.add(jobId);
  }

  private void writeUnblocked() throws SQLException {
    if (unblocked.isEmpty()) {
      return;
    }
    if (unblocked.size() == 1) {
      markUnblocked.setLong(1, unblocked.getFirst());
      requireChanged(markUnblocked, unblocked.getFirst());
    } else {
      StringBuilder ids = new StringBuilder(unblocked.size() * 8).append('[');
      for (int i = 0; i < unblocked.size(); i++) {
        ids.append(i == 0 ? "" : ",").append(unblocked.get(i));
      }
      markAllUnblocked.setString(1, ids.append(']').toString());
      if (markAllUnblocked.executeUpdate() != unblocked.size()) {
        // Name the job that was not changed: none of it is kept, the transaction rolls back.
        for (long jobId : unblocked) {
          findState.setLong(1, jobId);
          try (ResultSet row = findState.executeQuery()) {
            if (!row.next()) {
              throw new StoreException("job " + jobId + " is not stored");
            }
            if (!row.getString(1).equals(JobTransition.UNBLOCKED.to().name())) {
              throw new StoreException(
                  "job " + jobId + " has already ended (" + row.getString(1) + ")");
            }
          }
        }
        throw new StoreException("a job was released twice in one batch");
      }
    }
    unblocked.clear();
  }

  /** A batch id stands for every job of the batch, a job id for itself. */
  private List<Long> dependencyTargets(long id) throws SQLException {
    List<Long> targets = dependencyTargets.get(id);
    if (targets == null) {
      targets = new ArrayList<>();
      findDependencyTargets.setLong(1, id);
      try (ResultSet row = findDependencyTargets.executeQuery()) {
        while (row.next()) {
          targets.add(row.getLong(1));
        }
      }
      dependencyTargets.put(id, targets);
    }
    return targets;
  }

  private String argvJson(List<String> argv) {
    if (lastArgvJson == null || !java.util.Objects.equals(argv, lastArgv)) {
      lastArgvJson = JsonColumns.write(argv);
      lastArgv = argv;
    }
    return lastArgvJson;
  }

  private long environmentId(Map<String, String> env) throws SQLException {
    // Jobs submitted one spec each (not as a batch) arrive with equal but distinct maps:
    // comparing is much cheaper than serialising and hashing each of them.
    if (env == lastEnv || env.equals(lastEnv)) {
      lastEnv = env;
      return lastEnvId;
    }
    long id = storedEnvironmentId(env);
    lastEnv = env;
    lastEnvId = id;
    return id;
  }

  private long storedEnvironmentId(Map<String, String> env) throws SQLException {
    String json = JsonColumns.write(env);
    String hash = JsonColumns.sha256(json);
    Long cached = envIds.get(hash);
    if (cached != null) {
      return cached;
    }
    long id;
    findEnv.setString(1, hash);
    try (ResultSet row = findEnv.executeQuery()) {
      id = row.next() ? row.getLong(1) : -1;
    }
    if (id < 0) {
      insertEnv.setString(1, hash);
      insertEnv.setInt(2, env.size());
      insertEnv.setString(3, json);
      insertEnv.executeUpdate();
      try (Statement statement = connection.createStatement();
          ResultSet row = statement.executeQuery("SELECT last_insert_rowid()")) {
        row.next();
        id = row.getLong(1);
      }
    }
    envIds.put(hash, id);
    return id;
  }

  private void end(
      PreparedStatement mark,
      long jobId,
      int attempt,
      JobOutcome outcome,
      CapturedOutput stdout,
      CapturedOutput stderr,
      Instant at,
      JobStarted folded)
      throws SQLException {
    setNullable(mark, 1, outcome.exitCode());
    setNullable(mark, 2, outcome.signal());
    mark.setString(3, outcome.failure());
    Instant started =
        outcome.started() != null ? outcome.started() : folded != null ? folded.at() : null;
    if (started == null) {
      mark.setNull(4, Types.INTEGER);
    } else {
      mark.setLong(4, millis(started));
    }
    mark.setLong(5, millis(outcome.ended() != null ? outcome.ended() : at));
    if (folded == null) {
      mark.setNull(6, Types.INTEGER);
    } else {
      mark.setLong(6, millis(folded.at()));
    }
    mark.setLong(7, millis(at));
    mark.setLong(8, jobId);
    requireChanged(mark, jobId);
    output(jobId, attempt, stdout, stderr);
  }

  /**
   * The attempt's end becomes a history row of its own (the row keeps only the current attempt's
   * lines), with its exit code and which retry follows; its output is kept as that attempt's.
   */
  private void retry(JobRetried retried) throws SQLException {
    long jobId = retried.jobId();
    keepRowLines(jobId);
    JobOutcome outcome = retried.outcome();
    String ending =
        outcome == null
            ? "no result"
            : endDetail(outcome.exitCode(), outcome.signal(), outcome.failure());
    String detail =
        (ending == null ? "" : ending + "; ")
            + "retry "
            + retried.retry()
            + " of "
            + retried.retries()
            + (retried.notBefore() == null
                ? " follows"
                : " in " + delayText(retried.at(), retried.notBefore()));
    historyFromJob(jobId, retried.at(), retried.attempt(), "ended", detail);
    markRetried.setInt(1, retried.retry());
    if (retried.notBefore() == null) {
      markRetried.setNull(2, Types.INTEGER);
    } else {
      markRetried.setLong(2, millis(retried.notBefore()));
    }
    markRetried.setLong(3, jobId);
    requireChanged(markRetried, jobId);
    output(jobId, retried.attempt(), retried.stdout(), retried.stderr());
  }

  /** "30s", "1m30s": the pause before a retry, to the second. */
  private static String delayText(Instant from, Instant to) {
    long seconds = Math.max(0, java.time.Duration.between(from, to).toSeconds());
    return seconds >= 60
        ? seconds / 60 + "m" + (seconds % 60 == 0 ? "" : seconds % 60 + "s")
        : seconds + "s";
  }

  /** The detail of an "ended" history line: the failure, else the signal, else the exit code. */
  static String endDetail(Integer exitCode, Integer signal, String failure) {
    if (failure != null) {
      return failure;
    }
    if (signal != null) {
      return "signal " + signal;
    }
    if (exitCode != null) {
      return "exit " + exitCode;
    }
    return null;
  }

  /**
   * Keeps the attempt's output, and forgets that of attempts older than the last {@link
   * JobStore#KEPT_OUTPUT_ATTEMPTS} (looked for only when there can be any).
   */
  private void output(long jobId, int attempt, CapturedOutput stdout, CapturedOutput stderr)
      throws SQLException {
    boolean stored = output(jobId, attempt, "stdout", stdout);
    stored |= output(jobId, attempt, "stderr", stderr);
    if (stored && attempt > JobStore.KEPT_OUTPUT_ATTEMPTS) {
      deleteOldOutputs.setLong(1, jobId);
      deleteOldOutputs.setInt(2, attempt - JobStore.KEPT_OUTPUT_ATTEMPTS);
      deleteOldOutputs.executeUpdate();
    }
  }

  private boolean output(long jobId, int attempt, String stream, CapturedOutput output)
      throws SQLException {
    if (output == null || (output.text().isEmpty() && output.droppedBytes() == 0)) {
      return false;
    }
    insertOutput.setLong(1, jobId);
    insertOutput.setInt(2, attempt);
    insertOutput.setString(3, stream);
    insertOutput.setString(4, output.text());
    insertOutput.setLong(5, output.droppedBytes());
    insertOutput.setString(6, output.runs() == null ? null : JsonColumns.write(output.runs()));
    insertOutput.executeUpdate();
    return true;
  }

  private void history(
      long jobId, Instant at, int attempt, String what, String worker, String detail)
      throws SQLException {
    insertHistory.setLong(1, jobId);
    insertHistory.setLong(2, millis(at));
    insertHistory.setInt(3, attempt);
    insertHistory.setString(4, what);
    insertHistory.setString(5, worker);
    insertHistory.setString(6, detail);
    insertHistory.executeUpdate();
  }

  /**
   * Writes the current attempt's offered and started lines, kept in the job's row until now, as
   * rows, so that they stay before the line written next; the row change that follows clears them.
   * A job's ended line needs no such care: nothing is written to the history of an ended job.
   */
  private void keepRowLines(long jobId) throws SQLException {
    keepOfferedLine.setLong(1, jobId);
    keepOfferedLine.executeUpdate();
    keepStartedLine.setLong(1, jobId);
    keepStartedLine.executeUpdate();
  }

  /** A history line whose worker (and attempt, when not given) comes from the job's row. */
  private void historyFromJob(long jobId, Instant at, Integer attempt, String what, String detail)
      throws SQLException {
    insertHistoryFromJob.setLong(1, millis(at));
    setNullable(insertHistoryFromJob, 2, attempt);
    insertHistoryFromJob.setString(3, what);
    insertHistoryFromJob.setString(4, detail);
    insertHistoryFromJob.setLong(5, jobId);
    insertHistoryFromJob.executeUpdate();
  }

  /**
   * A state change must hit exactly one job that has not ended: anything else means the caller's
   * view of the job differs from the stored one, and storing it would resurrect or invent a job.
   */
  private void requireChanged(PreparedStatement update, long jobId) throws SQLException {
    if (update.executeUpdate() == 1) {
      return;
    }
    findState.setLong(1, jobId);
    try (ResultSet row = findState.executeQuery()) {
      if (!row.next()) {
        throw new StoreException("job " + jobId + " is not stored");
      }
      throw new StoreException("job " + jobId + " has already ended (" + row.getString(1) + ")");
    }
  }

  private static void setNullable(PreparedStatement statement, int index, Integer value)
      throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.INTEGER);
    } else {
      statement.setInt(index, value);
    }
  }

  private static void setNullable(PreparedStatement statement, int index, Long value)
      throws SQLException {
    if (value == null) {
      statement.setNull(index, Types.INTEGER);
    } else {
      statement.setLong(index, value);
    }
  }

  /** The insert of a new job in the state the move leaves it in. */
  private static String insertQueued(JobTransition move) {
    return "INSERT INTO jobs (id, state, argv, cwd, env_id, slots, cpus, ram_mb, global_resources,"
        + " stdout_target, stderr_target, time_limit_s, retries, retry_delay_s, attempt,"
        + " submitted, batch_id, array_index, submission_key, worker_resources, gpu_ram_mb,"
        + " priority, hold, dependencies, keep_children, umask)"
        + " VALUES (?, "
        + to(move)
        + ", ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  }

  /** The state a move leaves its job in, as an SQL literal. */
  private static String to(JobTransition transition) {
    return Schema.literal(transition.to());
  }

  private static long millis(Instant instant) {
    return instant.toEpochMilli();
  }

  private static String describe(Event event) {
    return switch (event) {
      case JobQueued e -> "JobQueued of job " + e.jobId();
      case JobOffered e -> "JobOffered of job " + e.jobId();
      case JobDeclined e -> "JobDeclined of job " + e.jobId();
      case JobStarted e -> "JobStarted of job " + e.jobId();
      case JobEnded e -> "JobEnded of job " + e.jobId();
      case JobRequeued e -> "JobRequeued of job " + e.jobId();
      case JobCanceled e -> "JobCanceled of job " + e.jobId();
      case JobFailed e -> "JobFailed of job " + e.jobId();
      case JobTimedOut e -> "JobTimedOut of job " + e.jobId();
      case JobRetried e -> "JobRetried of job " + e.jobId();
      case JobHeld e -> "JobHeld of job " + e.jobId();
      case JobReleased e -> "JobReleased of job " + e.jobId();
      case JobBlocked e -> "JobBlocked of job " + e.jobId();
      case JobUnblocked e -> "JobUnblocked of job " + e.jobId();
      case JobUpdated e -> "JobUpdated of job " + e.jobId();
      case JobRerun e -> "JobRerun of job " + e.jobId();
      case FinishedJobsExpired e -> "FinishedJobsExpired before " + e.endedBefore();
    };
  }

  private void forgetEnvironments() {
    envIds.clear();
    lastEnv = null;
  }

  private void rollback(Exception cause) {
    forgetEnvironments();
    try {
      connection.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  private PreparedStatement prepare(String sql) throws SQLException {
    return connection.prepareStatement(sql);
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException ignored) {
      // Every batch was committed or rolled back already; nothing is pending.
    }
  }
}
