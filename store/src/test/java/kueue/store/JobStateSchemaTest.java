package kueue.store;

import static kueue.store.Jobs.at;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kueue.core.Event;
import kueue.model.CapturedOutput;
import kueue.model.JobFilter;
import kueue.model.JobOutcome;
import kueue.model.JobState;
import kueue.model.JobTransition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SQL that stays literal in a database (the CHECK on jobs.state, the generated category column,
 * the rows of job_counts) and the updates of EventWriter agree with {@link JobState} and {@link
 * JobTransition}, read from a real database file. A state or move added to the table without the
 * store fails here, saying what to change.
 */
class JobStateSchemaTest {
  private static final Pattern STATE_CHECK =
      Pattern.compile("CHECK\\s*\\(\\s*state\\s+IN\\s*\\(([^)]*)\\)\\s*\\)");

  @TempDir Path dataDirectory;
  private SqliteJobStore store;
  private Connection database;
  private long nextJobId = 1;

  @BeforeEach
  void open() throws SQLException {
    store = SqliteJobStore.open(dataDirectory);
    database =
        DriverManager.getConnection(
            "jdbc:sqlite:" + dataDirectory.resolve(SqliteJobStore.DATABASE_FILE));
  }

  @AfterEach
  void close() throws SQLException {
    database.close();
    store.close();
  }

  @Test
  void theCheckOnJobStateAllowsExactlyTheStatesOfTheTable() throws SQLException {
    String table = schemaOf("jobs");
    Matcher check = STATE_CHECK.matcher(table);
    assertThat(check.find()).as("a CHECK (state IN (...)) in %s", table).isTrue();
    Set<String> allowed = new LinkedHashSet<>();
    for (String literal : check.group(1).split(",")) {
      allowed.add(literal.strip().replace("'", ""));
    }
    for (JobState state : JobState.values()) {
      if (!allowed.contains(state.name())) {
        fail(
            "JobState.%s is not allowed by the CHECK on jobs.state in kueue.db %s: add a migration"
                + " to Schema.MIGRATIONS that rebuilds the jobs table with %s in the CHECK (SQLite"
                + " cannot alter a CHECK), raise Schema.VERSION, and test it from the previous"
                + " version",
            state, allowed, state);
      }
    }
    assertThat(allowed)
        .as("states the CHECK on jobs.state allows but JobState lacks")
        .containsExactlyInAnyOrder(names(JobState.values()));
  }

  @Test
  void theCategoryColumnFollowsEachStatesCategory() throws SQLException {
    for (JobState state : JobState.values()) {
      for (Integer exitCode : Arrays.asList(0, 1, null)) {
        long id = insertRow(state, exitCode);
        String stored = categoryOf(id);
        if (!state.category(exitCode).name().equals(stored)) {
          fail(
              "a %s job with exit code %s has category %s in kueue.db, but JobState.%s says %s:"
                  + " change the generated column jobs.category (Schema) in a migration, or the"
                  + " category in JobState",
              state, exitCode, stored, state, state.category(exitCode));
        }
      }
    }
  }

  @Test
  void everyCategoryIsCountedByTheTriggers() throws SQLException {
    Set<String> counted = new LinkedHashSet<>();
    try (Statement statement = database.createStatement();
        ResultSet row = statement.executeQuery("SELECT category FROM job_counts")) {
      while (row.next()) {
        counted.add(row.getString(1));
      }
    }
    for (JobFilter category : JobFilter.values()) {
      if (!counted.contains(category.name())) {
        fail(
            "category %s has no row in job_counts %s, so its jobs are never counted: insert it"
                + " in a migration in Schema.MIGRATIONS",
            category, counted);
      }
    }
    for (JobState state : JobState.values()) {
      for (Integer exitCode : Arrays.asList(0, 1, null)) {
        insertRow(state, exitCode);
      }
    }
    assertThat(counts("SELECT category, jobs FROM job_counts WHERE jobs > 0"))
        .as(
            "job_counts, kept by triggers, against the rows of jobs (a category the triggers"
                + " cannot count needs its row in job_counts, inserted by a migration)")
        .isEqualTo(counts("SELECT category, count(*) FROM jobs GROUP BY category"));
  }

  @Test
  void everyMoveOfTheTableIsWrittenWithItsTargetState() throws SQLException {
    for (boolean oneBatch : new boolean[] {false, true}) {
      for (JobTransition transition : JobTransition.values()) {
        for (JobState from : startsOf(transition)) {
          long id = nextJobId++;
          List<Event> events = new ArrayList<>(eventsReaching(id, from));
          Event move = eventOf(transition, id, attemptsIn(events));
          events.add(move);
          persist(events, oneBatch);

          String what =
              transition + " from " + from + (oneBatch ? " in one batch" : " one event a batch");
          JobState to = transition.to();
          assertThat(stateOf(id)).as("stored state after %s", what).isEqualTo(to.name());
          Integer exitCode =
              move instanceof Event.JobEnded ended ? ended.outcome().exitCode() : null;
          assertThat(categoryOf(id))
              .as("stored category after %s", what)
              .isEqualTo(to.category(exitCode).name());
          assertThat(store.summary(id).orElseThrow().state())
              .as("state read after %s", what)
              .isEqualTo(to);
          assertThat(store.activeJobs().stream().anyMatch(job -> job.jobId() == id))
              .as("job restored after %s", what)
              .isEqualTo(!to.isTerminal());
        }
      }
    }
  }

  /**
   * Which moves are legal is the scheduler's to check; the store refuses to revive a job, except by
   * the one move that does (a user's requeue).
   */
  @Test
  void noMoveOfAJobThatHasEndedIsStored() {
    for (JobTransition transition : JobTransition.values()) {
      if (transition.from().isEmpty() || transition == JobTransition.RERUN) {
        continue;
      }
      for (JobState from : JobState.values()) {
        if (!from.isTerminal()) {
          continue;
        }
        long id = nextJobId++;
        List<Event> events = eventsReaching(id, from);
        store.persist(events);
        Event move = eventOf(transition, id, attemptsIn(events));
        assertThatThrownBy(() -> store.persist(List.of(move)))
            .as("%s from %s", transition, from)
            .isInstanceOf(StoreException.class)
            .hasMessageContaining("job " + id + " has already ended (" + from + ")");
      }
    }
  }

  // ---- driving a job through the table

  /** The states a move starts from, or the initial one's absence: null for the first move. */
  private static List<JobState> startsOf(JobTransition transition) {
    return transition.from().isEmpty()
        ? Arrays.asList((JobState) null)
        : List.copyOf(transition.from());
  }

  /** The shortest list of moves from nothing to state, or null when there is none. */
  private static List<JobTransition> pathTo(JobState state) {
    Map<JobState, List<JobTransition>> paths = new EnumMap<>(JobState.class);
    paths.put(JobTransition.initial(), List.of(JobTransition.QUEUED));
    Deque<JobState> todo = new ArrayDeque<>(List.of(JobTransition.initial()));
    while (!todo.isEmpty()) {
      JobState at = todo.removeFirst();
      for (JobTransition transition : JobTransition.values()) {
        if (transition.startsFrom(at) && !paths.containsKey(transition.to())) {
          List<JobTransition> path = new ArrayList<>(paths.get(at));
          path.add(transition);
          paths.put(transition.to(), path);
          todo.addLast(transition.to());
        }
      }
    }
    return paths.get(state);
  }

  /** The events that bring a new job to state; none for no state. */
  private static List<Event> eventsReaching(long id, JobState state) {
    List<Event> events = new ArrayList<>();
    if (state != null) {
      for (JobTransition transition : pathTo(state)) {
        events.add(eventOf(transition, id, attemptsIn(events)));
      }
    }
    return events;
  }

  private static int attemptsIn(List<Event> events) {
    return (int) events.stream().filter(Event.JobOffered.class::isInstance).count();
  }

  /** The event that records transition for the job, whose offers so far number attempts. */
  private static Event eventOf(JobTransition transition, long id, int attempts) {
    Event event =
        switch (transition) {
          case QUEUED -> Jobs.queued(id, 0);
          case OFFERED -> new Event.JobOffered(id, attempts + 1, 7, "w1", at(1));
          case DECLINED -> new Event.JobDeclined(id, attempts, "w1", "no such directory", at(2));
          case STARTED -> new Event.JobStarted(id, attempts, at(3));
          case ENDED ->
              new Event.JobEnded(
                  id,
                  attempts,
                  new JobOutcome(0, null, null, at(3), at(4)),
                  CapturedOutput.EMPTY,
                  CapturedOutput.EMPTY,
                  at(4));
          case REQUEUED -> new Event.JobRequeued(id, attempts, "worker w1 went away", at(5));
          case CANCELED -> new Event.JobCanceled(id, "canceled by user", at(6));
          case FAILED -> new Event.JobFailed(id, "lost 3 times", at(7));
          case TIMED_OUT ->
              new Event.JobTimedOut(
                  id,
                  attempts,
                  new JobOutcome(null, 15, null, at(3), at(8), true),
                  CapturedOutput.EMPTY,
                  CapturedOutput.EMPTY,
                  at(8));
          case RETRIED ->
              new Event.JobRetried(
                  id,
                  attempts,
                  new JobOutcome(1, null, null, at(3), at(9)),
                  CapturedOutput.EMPTY,
                  CapturedOutput.EMPTY,
                  1,
                  2,
                  at(19),
                  at(9));
          case HELD -> new Event.JobHeld(id, at(8));
          case RELEASED -> new Event.JobReleased(id, at(9));
          case BLOCKED -> new Event.JobBlocked(id, at(10));
          case UNBLOCKED -> new Event.JobUnblocked(id, at(11));
          case RERUN -> new Event.JobRerun(id, "by user", at(12));
          default ->
              throw new AssertionError(
                  "JobTransition."
                      + transition
                      + " has no event: add the Event that records it (and to"
                      + " Event.transitionOf), write it in EventWriter with the target state"
                      + " to(JobTransition."
                      + transition
                      + "), and add it here");
        };
    assertThat(Event.transitionOf(event)).as("the event of %s", transition).isEqualTo(transition);
    return event;
  }

  private void persist(List<Event> events, boolean oneBatch) {
    if (oneBatch) {
      store.persist(events);
    } else {
      events.forEach(event -> store.persist(List.of(event)));
    }
  }

  // ---- reading the database

  private String schemaOf(String table) throws SQLException {
    String sql = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?";
    try (PreparedStatement query = database.prepareStatement(sql)) {
      query.setString(1, table);
      try (ResultSet row = query.executeQuery()) {
        assertThat(row.next()).as("table %s in kueue.db", table).isTrue();
        return row.getString(1);
      }
    }
  }

  /**
   * A row written directly, in a state the store may not know how to reach. The CHECK on the state
   * is ignored here, so that the category is checked even for a state the CHECK lacks (which {@link
   * #theCheckOnJobStateAllowsExactlyTheStatesOfTheTable} reports).
   */
  private long insertRow(JobState state, Integer exitCode) throws SQLException {
    long id = nextJobId++;
    try (Statement statement = database.createStatement()) {
      statement.execute("PRAGMA ignore_check_constraints = ON");
    }
    try (PreparedStatement insert =
        database.prepareStatement(
            "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, submitted,"
                + " exit_code) VALUES (?, ?, '[\"true\"]', '/w', 1, 1, 10, 0, 0, ?)")) {
      insert.setLong(1, id);
      insert.setString(2, state.name());
      if (exitCode == null) {
        insert.setNull(3, java.sql.Types.INTEGER);
      } else {
        insert.setInt(3, exitCode);
      }
      insert.executeUpdate();
    } finally {
      try (Statement statement = database.createStatement()) {
        statement.execute("PRAGMA ignore_check_constraints = OFF");
      }
    }
    return id;
  }

  private String stateOf(long id) throws SQLException {
    return column("state", id);
  }

  private String categoryOf(long id) throws SQLException {
    return column("category", id);
  }

  private String column(String column, long id) throws SQLException {
    try (PreparedStatement query =
        database.prepareStatement("SELECT " + column + " FROM jobs WHERE id = ?")) {
      query.setLong(1, id);
      try (ResultSet row = query.executeQuery()) {
        assertThat(row.next()).as("job %d is stored", id).isTrue();
        return row.getString(1);
      }
    }
  }

  private Map<String, Long> counts(String sql) throws SQLException {
    Map<String, Long> counts = new TreeMap<>();
    try (Statement statement = database.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      while (row.next()) {
        counts.put(row.getString(1), row.getLong(2));
      }
    }
    return counts;
  }

  private static String[] names(JobState[] states) {
    return Arrays.stream(states).map(JobState::name).toArray(String[]::new);
  }
}
