package kueue.store;

import static kueue.store.Jobs.at;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import kueue.core.DependencyTargets;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.Dependency;
import kueue.model.DependencyKind;
import kueue.model.DependencyStatus;
import kueue.model.JobSpec;
import kueue.model.JobState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Priorities, holds and dependencies as the store keeps them. */
class DependencyStoreTest {
  @TempDir Path dataDirectory;
  private SqliteJobStore store;

  @BeforeEach
  void open() {
    store = SqliteJobStore.open(dataDirectory);
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void dependenciesAreStoredWithBatchesExpandedAndListedWithTheirParentsStates() {
    store.persist(Jobs.ranToCompletion(1, 0, 1, 2));
    store.persist(
        List.of(
            new Event.JobQueued(2, Jobs.aSpec().forJob(2, List.of("./a"), 2L, 0L), at(0)),
            new Event.JobQueued(3, Jobs.aSpec().forJob(3, List.of("./a"), 2L, 1L), at(0))));
    JobSpec dependent =
        Jobs.aSpec().withPriority(4).withDependencies(Dependency.parse("afterok:1,afterany:2"));

    store.persist(
        List.of(new Event.JobQueued(4, dependent, at(3)), new Event.JobBlocked(4, at(3))));

    assertThat(store.summary(4).orElseThrow().state()).isEqualTo(JobState.WAITING);
    assertThat(store.spec(4)).contains(dependent);
    assertThat(store.detail(4).orElseThrow().dependencies())
        .containsExactly(
            new DependencyStatus(DependencyKind.AFTEROK, 1, JobState.FINISHED, 0),
            new DependencyStatus(DependencyKind.AFTERANY, 2, JobState.PENDING, null),
            new DependencyStatus(DependencyKind.AFTERANY, 3, JobState.PENDING, null));
    RestoredJob restored =
        store.activeJobs().stream().filter(job -> job.jobId() == 4).findFirst().orElseThrow();
    assertThat(restored.priority()).isEqualTo(4);
    assertThat(restored.dependencies())
        .containsExactlyInAnyOrder(
            new RestoredJob.RestoredDependency(DependencyKind.AFTEROK, 1, JobState.FINISHED, 0),
            new RestoredJob.RestoredDependency(DependencyKind.AFTERANY, 2, JobState.PENDING, null),
            new RestoredJob.RestoredDependency(DependencyKind.AFTERANY, 3, JobState.PENDING, null));
  }

  @Test
  void targetsExpandBatchesAndSayHowEndedJobsEnded() {
    store.persist(Jobs.ranToCompletion(1, 2, 1, 2));
    store.persist(
        List.of(
            new Event.JobQueued(2, Jobs.aSpec().forJob(2, List.of("./a"), 2L, 0L), at(0)),
            new Event.JobQueued(3, Jobs.aSpec().forJob(3, List.of("./a"), 2L, 1L), at(0)),
            new Event.JobCanceled(3, "canceled by user", at(1))));

    DependencyTargets targets = store.dependencyTargets(List.of(1L, 2L, 3L, 99L));

    assertThat(targets.jobsOf())
        .isEqualTo(Map.of(1L, List.of(1L), 2L, List.of(2L, 3L), 3L, List.of(3L)));
    assertThat(targets.ended())
        .isEqualTo(
            Map.of(
                1L, new DependencyTargets.ParentEnd(false, "failed"),
                3L, new DependencyTargets.ParentEnd(false, "was canceled")));
  }

  @Test
  void heldJobsAreCountedReleasedAndReprioritised() {
    store.persist(
        List.of(
            new Event.JobQueued(1, Jobs.aSpec().withHold(true), at(0)),
            new Event.JobHeld(1, at(0))));
    assertThat(store.stats(at(1)).held()).isEqualTo(1);

    store.persist(List.of(new Event.JobUpdated(1, 9, at(1)), new Event.JobReleased(1, at(2))));

    assertThat(store.stats(at(3)).held()).isZero();
    assertThat(store.spec(1).orElseThrow().priority()).isEqualTo(9);
    assertThat(store.detail(1).orElseThrow().history())
        .extracting(line -> line.what())
        .containsExactly("submitted", "held", "updated", "released");
  }

  @Test
  void aRerunKeepsTheEndedAttemptInTheHistoryAndQueuesTheJobAgain() {
    store.persist(Jobs.ranToCompletion(1, 3, 1, 2));

    store.persist(List.of(new Event.JobRerun(1, "by user", at(3))));

    var detail = store.detail(1).orElseThrow();
    assertThat(detail.summary().state()).isEqualTo(JobState.PENDING);
    assertThat(detail.summary().exitCode()).isNull();
    assertThat(detail.summary().ended()).isNull();
    assertThat(detail.history())
        .extracting(line -> line.what() + " " + line.attempt() + " " + line.detail())
        .containsExactly(
            "submitted 0 null",
            "offered 1 null",
            "started 1 null",
            "ended 1 exit 3",
            "requeued 0 by user");
    assertThat(store.stats(at(3)).failed()).isZero();
    assertThat(store.stats(at(3)).pending()).isEqualTo(1);
    assertThat(store.activeJobs()).extracting(RestoredJob::jobId).containsExactly(1L);
  }

  @Test
  void rerunCandidatesAreTheJobsAndWhatWasCanceledBecauseOfThem() {
    store.persist(Jobs.ranToCompletion(1, 3, 1, 2));
    store.persist(
        List.of(
            new Event.JobQueued(
                2, Jobs.aSpec().withDependencies(Dependency.parse("afterok:1")), at(0)),
            new Event.JobQueued(
                3, Jobs.aSpec().withDependencies(Dependency.parse("afterok:2")), at(0)),
            new Event.JobQueued(
                4, Jobs.aSpec().withDependencies(Dependency.parse("afterany:1")), at(0)),
            new Event.JobCanceled(2, "dependency on job 1 failed", at(2)),
            new Event.JobCanceled(3, "dependency on job 2 failed: it was canceled", at(2)),
            new Event.JobCanceled(4, "canceled by user", at(2))));

    List<RestoredJob> candidates = store.rerunCandidates(List.of(1L));

    assertThat(candidates).extracting(RestoredJob::jobId).containsExactly(1L, 2L, 3L);
    assertThat(candidates.get(0).state()).isEqualTo(JobState.FINISHED);
    assertThat(candidates.get(1).dependencies())
        .containsExactly(
            new RestoredJob.RestoredDependency(DependencyKind.AFTEROK, 1, JobState.FINISHED, 3));
  }

  @Test
  void dependentsReleasedTogetherAreWrittenTogetherAndAnEndedOneIsRefused() {
    List<Event> waiting = new java.util.ArrayList<>();
    for (long id = 1; id <= 4; id++) {
      waiting.add(new Event.JobQueued(id, Jobs.aSpec(), at(0)));
      waiting.add(new Event.JobBlocked(id, at(0)));
    }
    store.persist(waiting);
    store.persist(List.of(new Event.JobCanceled(4, "canceled by user", at(1))));

    store.persist(
        List.of(
            new Event.JobUnblocked(1, at(2)),
            new Event.JobUnblocked(2, at(2)),
            Jobs.offered(2, 1, "w1", 2)));

    assertThat(store.summary(1).orElseThrow().state()).isEqualTo(JobState.PENDING);
    assertThat(store.summary(2).orElseThrow().state()).isEqualTo(JobState.OFFERED);
    assertThat(store.stats(at(2)).waiting()).isEqualTo(1);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                store.persist(
                    List.of(new Event.JobUnblocked(3, at(3)), new Event.JobUnblocked(4, at(3)))))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("job 4 has already ended (CANCELED)");
    assertThat(store.summary(3).orElseThrow().state()).isEqualTo(JobState.WAITING);
  }

  @Test
  void cleaningAJobRemovesItsDependencies() throws Exception {
    store.persist(List.of(new Event.JobQueued(1, Jobs.aSpec(), at(0))));
    store.persist(
        List.of(
            new Event.JobQueued(
                2, Jobs.aSpec().withDependencies(Dependency.parse("afterany:1")), at(0))));
    store.persist(List.of(new Event.JobCanceled(2, "canceled by user", at(1))));

    store.clean(true);

    try (Connection connection =
            DriverManager.getConnection(
                "jdbc:sqlite:" + dataDirectory.resolve(SqliteJobStore.DATABASE_FILE));
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("SELECT count(*) FROM job_dependencies")) {
      assertThat(row.getLong(1)).isZero();
    }
  }

  @Test
  void aDatabaseOfVersionThreeKeepsItsJobsAndCountsAndTakesTheNewStates() throws Exception {
    store.close();
    Path old = dataDirectory.resolve("old");
    Files.createDirectories(old);
    Path file = old.resolve("kueue.db");
    OldDatabases.write(
        file,
        3,
        "INSERT INTO jobs (id, state, argv, cwd, slots, cpus, ram_mb, attempt, submitted,"
            + " batch_id, array_index) VALUES (7, 'PENDING', '[\"./old\"]', '/w', 1, 1, 10, 0,"
            + " 0, 7, 0), (8, 'FINISHED', '[\"./old\"]', '/w', 1, 1, 10, 1, 0, 7, 1)",
        "UPDATE jobs SET exit_code = 0, started = 1, ended = 2 WHERE id = 8",
        "UPDATE meta SET value = 9 WHERE key = 'next_job_id'");

    store = SqliteJobStore.open(old);

    assertThat(store.summary(7).orElseThrow().state()).isEqualTo(JobState.PENDING);
    assertThat(store.spec(7).orElseThrow().priority()).isZero();
    assertThat(store.stats(at(0)).pending()).isEqualTo(1);
    assertThat(store.stats(at(0)).succeeded()).isEqualTo(1);
    store.persist(List.of(new Event.JobHeld(7, at(1))));
    assertThat(store.stats(at(1)).held()).isEqualTo(1);
    assertThat(store.stats(at(1)).pending()).isZero();
    store.persist(
        List.of(
            new Event.JobQueued(
                9, Jobs.aSpec().withDependencies(Dependency.parse("afterok:7")), at(2)),
            new Event.JobBlocked(9, at(2))));
    assertThat(store.detail(9).orElseThrow().dependencies())
        .as("job 7 is also the id of its batch, which job 8 belongs to")
        .containsExactly(
            new DependencyStatus(DependencyKind.AFTEROK, 7, JobState.HELD, null),
            new DependencyStatus(DependencyKind.AFTEROK, 8, JobState.FINISHED, 0));
    assertThat(store.listBatch(7, 0, List.of())).hasSize(2);
  }
}
