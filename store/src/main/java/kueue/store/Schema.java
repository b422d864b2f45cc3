package kueue.store;

import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import kueue.model.JobFilter;
import kueue.model.JobState;

/**
 * The tables of {@code kueue.db}, version {@link #VERSION}. A job's list category (the filters of
 * {@code list-jobs}) is a generated column so that listing by filter and counting per filter use
 * one index and can never disagree with the state and exit code they are derived from.
 *
 * <p>The job states and categories written literally below (the CHECK on {@code jobs.state}, the
 * {@code category} column, the rows of {@code job_counts}) are the text of existing databases and
 * stay as they are; JobStateSchemaTest checks them against {@link JobState} in a real database.
 * Everything else takes its states from {@link JobState} and {@link kueue.model.JobTransition}.
 */
final class Schema {

  /**
   * Stored in {@code PRAGMA user_version}; raise it and add a migration when the tables change. A
   * new database is created as version 1 and then migrated, so every migration runs in every test.
   */
  static final int VERSION = 10;

  /** Stored in {@code PRAGMA application_id} ("KUEU") to recognise our own databases. */
  static final int APPLICATION_ID = 0x4B554555;

  /** The tables every version has; a database without one of them is damaged. */
  static final List<String> TABLES =
      List.of("meta", "envs", "jobs", "outputs", "job_events", "job_counts");

  static final String TERMINAL_STATES = states(JobState::isTerminal);

  static final String ON_WORKER_STATES = states(JobState::isOnWorker);

  /** The categories of the jobs that have not ended. */
  static final String ACTIVE_CATEGORIES =
      sqlList(
          Arrays.stream(JobState.values())
              .filter(state -> !state.isTerminal())
              .flatMap(state -> categories(state).stream())
              .distinct()
              .toList());

  private static final String COUNT_CHANGE =
      "UPDATE job_counts SET jobs = jobs %1$s 1,"
          + " timed = timed %1$s (%2$s.started IS NOT NULL AND %2$s.ended IS NOT NULL),"
          + " run_ms = run_ms %1$s coalesce(%2$s.ended - %2$s.started, 0)"
          + " WHERE category = %2$s.category;";

  private static final String COUNTED_ON_INSERT =
      "CREATE TRIGGER jobs_counted_on_insert AFTER INSERT ON jobs BEGIN "
          + COUNT_CHANGE.formatted("+", "NEW")
          + " END";

  private static final String COUNTED_ON_UPDATE =
      "CREATE TRIGGER jobs_counted_on_update AFTER UPDATE OF state, exit_code, started, ended"
          + " ON jobs BEGIN "
          + COUNT_CHANGE.formatted("-", "OLD")
          + " "
          + COUNT_CHANGE.formatted("+", "NEW")
          + " END";

  private static final String COUNTED_ON_DELETE =
      "CREATE TRIGGER jobs_counted_on_delete AFTER DELETE ON jobs BEGIN "
          + COUNT_CHANGE.formatted("-", "OLD")
          + " END";

  /**
   * The stored (not generated) columns of jobs at version 7, which the rebuild of version 8 copies.
   */
  private static final String JOB_COLUMNS_8 =
      "id, state, argv, cwd, env_id, slots, cpus, ram_mb, global_resources, stdout_target,"
          + " stderr_target, attempt, worker, submitted, started, ended, exit_code, signal, note,"
          + " batch_id, array_index, history_offered, history_started, history_ended,"
          + " submission_key, time_limit_s, retries, retry_delay_s, retried, not_before,"
          + " worker_resources, gpu_ram_mb, devices, priority, hold, dependencies";

  /** The tables of version 1; {@link #MIGRATIONS} bring them to {@link #VERSION}. */
  static final List<String> CREATE =
      List.of(
          "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID",
          "INSERT INTO meta (key, value) VALUES ('next_job_id', 1)",
          // Identical environments (a sweep of thousands of jobs) are stored once.
          """
          CREATE TABLE envs (
            id INTEGER PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            variables INTEGER NOT NULL,
            json TEXT NOT NULL)\
          """,
          """
          CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            state TEXT NOT NULL
              CHECK (state IN ('PENDING', 'OFFERED', 'RUNNING', 'FINISHED', 'CANCELED')),
            argv TEXT NOT NULL,
            cwd TEXT NOT NULL,
            env_id INTEGER,
            slots INTEGER NOT NULL,
            cpus INTEGER NOT NULL,
            ram_mb INTEGER NOT NULL,
            global_resources TEXT,
            stdout_target TEXT,
            stderr_target TEXT,
            attempt INTEGER NOT NULL,
            worker TEXT,
            submitted INTEGER NOT NULL,
            started INTEGER,
            ended INTEGER,
            exit_code INTEGER,
            signal INTEGER,
            note TEXT,
            category TEXT GENERATED ALWAYS AS (
              CASE WHEN state = 'FINISHED'
                THEN CASE WHEN exit_code = 0 THEN 'SUCCEEDED' ELSE 'FAILED' END
                ELSE state END) VIRTUAL)\
          """,
          // Rows of one category come out of this index in id order, so the newest N of a
          // filter are read without sorting or scanning the other categories.
          "CREATE INDEX jobs_by_category ON jobs (category)",
          "CREATE INDEX jobs_by_end ON jobs (ended) WHERE ended IS NOT NULL",
          "CREATE INDEX jobs_by_env ON jobs (env_id) WHERE env_id IS NOT NULL",
          """
          CREATE TABLE outputs (
            job_id INTEGER NOT NULL,
            stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
            text TEXT NOT NULL,
            dropped_bytes INTEGER NOT NULL,
            PRIMARY KEY (job_id, stream)) WITHOUT ROWID\
          """,
          """
          CREATE TABLE job_events (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL,
            time INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            what TEXT NOT NULL,
            worker TEXT,
            detail TEXT)\
          """,
          "CREATE INDEX job_events_by_job ON job_events (job_id)",
          // Counts and summed run times per category, kept by triggers, so that the list-jobs
          // footer costs the same with a million stored jobs as with ten.
          """
          CREATE TABLE job_counts (
            category TEXT PRIMARY KEY,
            jobs INTEGER NOT NULL DEFAULT 0,
            timed INTEGER NOT NULL DEFAULT 0,
            run_ms INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID\
          """,
          "INSERT INTO job_counts (category) VALUES"
              + " ('PENDING'), ('OFFERED'), ('RUNNING'), ('SUCCEEDED'), ('FAILED'), ('CANCELED')",
          COUNTED_ON_INSERT,
          COUNTED_ON_UPDATE,
          COUNTED_ON_DELETE);

  /**
   * MIGRATIONS.get(i) takes a database from version i + 1 to version i + 2, in the same transaction
   * that raises user_version.
   */
  static final List<List<String>> MIGRATIONS =
      List.of(
          // 2: batches. The batch id is the id of the batch's first job; it never changes, so the
          // index costs nothing on state changes, and only batch jobs are in it.
          List.of(
              "ALTER TABLE jobs ADD COLUMN batch_id INTEGER",
              "ALTER TABLE jobs ADD COLUMN array_index INTEGER",
              "CREATE INDEX jobs_by_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL"),
          // 3: the history lines of a job's current attempt (offered, started, ended: the lines of
          // nearly every job) are read from its row, where their times are kept, instead of being
          // rows of job_events; three history rows and index entries per job cost about as much
          // to write as the rest of the job's life. They become job_events rows, in order, when
          // anything else is written to the job's history. NULL: no such line, or it is a row
          // (always, for jobs stored before version 3).
          List.of(
              "ALTER TABLE jobs ADD COLUMN history_offered INTEGER",
              "ALTER TABLE jobs ADD COLUMN history_started INTEGER",
              "ALTER TABLE jobs ADD COLUMN history_ended INTEGER"),
          // 4: the key a client gives a submission, so that a submission tried again after its
          // answer was lost finds the jobs the first try created (only jobs with a key are in the
          // index).
          List.of(
              "ALTER TABLE jobs ADD COLUMN submission_key TEXT",
              "CREATE INDEX jobs_by_submission_key ON jobs (submission_key)"
                  + " WHERE submission_key IS NOT NULL"),
          // 5: time limits and retries. The spec's limit, retries and retry delay (NULL: none);
          // how many retries the job has had; and, while it waits out its retry delay, when it
          // may run again (epoch milliseconds; stale once the job is offered, never read then).
          List.of(
              "ALTER TABLE jobs ADD COLUMN time_limit_s INTEGER",
              "ALTER TABLE jobs ADD COLUMN retries INTEGER",
              "ALTER TABLE jobs ADD COLUMN retry_delay_s INTEGER",
              "ALTER TABLE jobs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0",
              "ALTER TABLE jobs ADD COLUMN not_before INTEGER"),
          // 6: GPUs and declared per-worker devices. worker_resources: what the job asks for by
          // resource name (JSON, NULL for none, which most jobs are); gpu_ram_mb: the free GPU
          // memory it needs (NULL for any); devices: the indices its current or last attempt got
          // (JSON, NULL for none), kept so that a restarted server holds them for its worker.
          List.of(
              "ALTER TABLE jobs ADD COLUMN worker_resources TEXT",
              "ALTER TABLE jobs ADD COLUMN gpu_ram_mb INTEGER",
              "ALTER TABLE jobs ADD COLUMN devices TEXT"),
          // 7: priorities, holds and dependencies (kueue cmd --priority, --hold, --after and
          // --dependency). dependencies is the submitted text (afterok:12,afterany:13); the
          // rows of job_dependencies are its ids with batches expanded to their jobs, written
          // with the job, so that show-job and a restart find each parent without parsing.
          List.of(
              "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
              "ALTER TABLE jobs ADD COLUMN hold INTEGER NOT NULL DEFAULT 0",
              "ALTER TABLE jobs ADD COLUMN dependencies TEXT",
              """
              CREATE TABLE job_dependencies (
                job_id INTEGER NOT NULL,
                parent_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                PRIMARY KEY (job_id, parent_id, kind)) WITHOUT ROWID\
              """,
              // kueue requeue finds the dependents canceled because of a job through it.
              "CREATE INDEX job_dependencies_by_parent ON job_dependencies (parent_id)"),
          // 8: the states TIMED_OUT (time limits), HELD and WAITING (holds and dependencies).
          // SQLite cannot alter the CHECK on jobs.state, so the table is rebuilt with every column
          // of version 7, its indexes and its counting triggers; the rows are copied before the
          // triggers exist (DROP TABLE fires none), so job_counts stays as it was, plus a row for
          // each new category.
          List.of(
              """
              CREATE TABLE jobs_rebuilt (
                id INTEGER PRIMARY KEY,
                state TEXT NOT NULL
                  CHECK (state IN ('PENDING', 'HELD', 'WAITING', 'OFFERED', 'RUNNING', 'FINISHED',
                    'CANCELED', 'TIMED_OUT')),
                argv TEXT NOT NULL,
                cwd TEXT NOT NULL,
                env_id INTEGER,
                slots INTEGER NOT NULL,
                cpus INTEGER NOT NULL,
                ram_mb INTEGER NOT NULL,
                global_resources TEXT,
                stdout_target TEXT,
                stderr_target TEXT,
                attempt INTEGER NOT NULL,
                worker TEXT,
                submitted INTEGER NOT NULL,
                started INTEGER,
                ended INTEGER,
                exit_code INTEGER,
                signal INTEGER,
                note TEXT,
                category TEXT GENERATED ALWAYS AS (
                  CASE WHEN state = 'FINISHED'
                    THEN CASE WHEN exit_code = 0 THEN 'SUCCEEDED' ELSE 'FAILED' END
                    ELSE state END) VIRTUAL,
                batch_id INTEGER,
                array_index INTEGER,
                history_offered INTEGER,
                history_started INTEGER,
                history_ended INTEGER,
                submission_key TEXT,
                time_limit_s INTEGER,
                retries INTEGER,
                retry_delay_s INTEGER,
                retried INTEGER NOT NULL DEFAULT 0,
                not_before INTEGER,
                worker_resources TEXT,
                gpu_ram_mb INTEGER,
                devices TEXT,
                priority INTEGER NOT NULL DEFAULT 0,
                hold INTEGER NOT NULL DEFAULT 0,
                dependencies TEXT)\
              """,
              "INSERT INTO jobs_rebuilt ("
                  + JOB_COLUMNS_8
                  + ") SELECT "
                  + JOB_COLUMNS_8
                  + " FROM jobs",
              "DROP TABLE jobs",
              "ALTER TABLE jobs_rebuilt RENAME TO jobs",
              "CREATE INDEX jobs_by_category ON jobs (category)",
              "CREATE INDEX jobs_by_end ON jobs (ended) WHERE ended IS NOT NULL",
              "CREATE INDEX jobs_by_env ON jobs (env_id) WHERE env_id IS NOT NULL",
              "CREATE INDEX jobs_by_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL",
              "CREATE INDEX jobs_by_submission_key ON jobs (submission_key)"
                  + " WHERE submission_key IS NOT NULL",
              COUNTED_ON_INSERT,
              COUNTED_ON_UPDATE,
              COUNTED_ON_DELETE,
              "INSERT INTO job_counts (category) VALUES ('TIMED_OUT'), ('HELD'), ('WAITING')"),
          // 9: captured output per attempt (kueue log --attempt N), so that a retry or a requeue
          // no longer replaces the output of the attempt before it. What is stored already
          // belongs to the job's last attempt. The writer keeps the last
          // JobStore.KEPT_OUTPUT_ATTEMPTS attempts of each job. runs: where the job switched to
          // the stream (CapturedOutput.runs, JSON), NULL when only one stream has output.
          List.of(
              """
              CREATE TABLE outputs_by_attempt (
                job_id INTEGER NOT NULL,
                attempt INTEGER NOT NULL,
                stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
                text TEXT NOT NULL,
                dropped_bytes INTEGER NOT NULL,
                runs TEXT,
                PRIMARY KEY (job_id, attempt, stream)) WITHOUT ROWID\
              """,
              "INSERT INTO outputs_by_attempt (job_id, attempt, stream, text, dropped_bytes)"
                  + " SELECT o.job_id, j.attempt, o.stream, o.text, o.dropped_bytes"
                  + " FROM outputs o JOIN jobs j ON j.id = o.job_id",
              "DROP TABLE outputs",
              "ALTER TABLE outputs_by_attempt RENAME TO outputs"),
          // 10: what a job leaves behind is kept (kueue cmd --keep-children), and the submitter's
          // umask (NULL: the worker's own, for jobs stored before).
          List.of(
              "ALTER TABLE jobs ADD COLUMN keep_children INTEGER NOT NULL DEFAULT 0",
              "ALTER TABLE jobs ADD COLUMN umask INTEGER"));

  /** The states that match, as an SQL list: ('FINISHED', 'CANCELED'). */
  static String states(Predicate<JobState> which) {
    return sqlList(Arrays.stream(JobState.values()).filter(which).toList());
  }

  /** The literal that stores state in {@code jobs.state}. */
  static String literal(JobState state) {
    return "'" + state.name() + "'";
  }

  /** The categories a job in this state can have, whatever its exit code. */
  static List<JobFilter> categories(JobState state) {
    return state.categoryDependsOnExitCode()
        ? List.of(state.category(0), state.category(null))
        : List.of(state.category(null));
  }

  static String sqlList(List<? extends Enum<?>> values) {
    return values.stream()
        .map(value -> "'" + value.name() + "'")
        .collect(Collectors.joining(", ", "(", ")"));
  }

  private Schema() {}
}
