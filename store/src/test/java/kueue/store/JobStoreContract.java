package kueue.store;

import static kueue.store.Jobs.ENV;
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
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kueue.core.Event;
import kueue.core.RestoredJob;
import kueue.model.AttemptOutput;
import kueue.model.BatchSummary;
import kueue.model.CapturedOutput;
import kueue.model.EveryField;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobFilter;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.model.Resources;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What every {@link JobStore} must do, whatever keeps the data. */
abstract class JobStoreContract {

  @TempDir Path dataDirectory;
  JobStore store;

  protected abstract JobStore open(Path dataDirectory);

  @BeforeEach
  void openStore() {
    store = open(dataDirectory);
  }

  @AfterEach
  void closeStore() {
    store.close();
  }

  void persist(Event... events) {
    store.persist(List.of(events));
  }

  void persist(List<Event> events) {
    store.persist(events);
  }

  JobSummary summary(long id) {
    return store.summary(id).orElseThrow();
  }

  JobDetail detail(long id) {
    return store.detail(id).orElseThrow();
  }

  List<Long> ids(List<JobSummary> summaries) {
    return summaries.stream().map(JobSummary::id).toList();
  }

  @Test
  void aNewStoreIsEmptyAndHandsOutIdsFromOne() {
    assertThat(store.nextJobId()).isEqualTo(1);
    assertThat(store.activeJobs()).isEmpty();
    assertThat(store.list(0, List.of())).isEmpty();
    assertThat(store.summary(1)).isEmpty();
    assertThat(store.detail(1)).isEmpty();
    assertThat(store.spec(1)).isEmpty();
    assertThat(store.stats(at(0))).isEqualTo(new JobStats(0, 0, 0, 0, 0, 0, null, null));
  }

  @Test
  void workerIdsAreKeptByNameAcrossAReopen() {
    assertThat(store.workerIds()).isEmpty();
    store.saveWorkerId("vm1", 1);
    store.saveWorkerId("worker;2", 2);
    store.saveWorkerId("ünïcode 名", 3);
    store.close();
    store = open(dataDirectory);

    assertThat(store.workerIds()).isEqualTo(Map.of("vm1", 1L, "worker;2", 2L, "ünïcode 名", 3L));
    assertThat(store.nextJobId()).isEqualTo(1);
  }

  @Test
  void aQueuedJobIsPendingWithItsSpecSubmitTimeAndSubmittedHistory() {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("python3", "train.py", "--name", "it's mine"))
            .cwd("/data/exp 1")
            .env(ENV)
            .slots(2)
            .cpus(4)
            .ramMb(8192)
            .globalResources(Map.of("licence", 2, "gpu", 1))
            .stdout("out.txt")
            .stderr("null")
            .build();
    persist(new Event.JobQueued(1, spec, at(5)));

    JobSummary summary = summary(1);
    assertThat(summary)
        .isEqualTo(
            JobSummaryBuilder.builder()
                .id(1)
                .state(JobState.PENDING)
                .command("python3 train.py --name 'it'\\''s mine'")
                .cwd("/data/exp 1")
                .slots(2)
                .cpus(4)
                .ramMb(8192)
                .attempt(0)
                .submitted(at(5))
                .build());
    assertThat(store.spec(1)).contains(spec);
    JobDetail detail = detail(1);
    assertThat(detail.summary()).isEqualTo(summary);
    assertThat(detail.spec().env()).as("environment is left out of show-job").isNull();
    assertThat(detail.spec().argv()).isEqualTo(spec.argv());
    assertThat(detail.spec().globalResources()).isEqualTo(spec.globalResources());
    assertThat(detail.spec().stdout()).isEqualTo("out.txt");
    assertThat(detail.spec().stderr()).isEqualTo("null");
    assertThat(detail.envVariables()).isEqualTo(2);
    assertThat(detail.history()).containsExactly(new JobEvent(at(5), 0, "submitted", null, null));
    assertThat(detail.stdout()).isEqualTo(CapturedOutput.EMPTY);
    assertThat(detail.stderr()).isEqualTo(CapturedOutput.EMPTY);
  }

  @Test
  void everyFieldOfASubmittedSpecIsStoredAndReadBack() {
    JobSpec spec = EveryField.jobSpec();
    persist(new Event.JobQueued(1, spec, at(0)));

    assertThat(store.spec(1))
        .as("a field of JobSpec that the store does not keep: add a column and a migration")
        .contains(spec);
    JobSummary summary = summary(1);
    assertThat(summary.batch()).isEqualTo(spec.batch());
    assertThat(summary.arrayIndex()).isEqualTo(spec.arrayIndex());
  }

  @Test
  void aJobSubmittedWithoutEnvironmentReportsMinusOneVariablesAndANullEnvironment() {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/tmp")
            .slots(1)
            .cpus(1)
            .ramMb(1)
            .globalResources(Map.of())
            .build();
    persist(new Event.JobQueued(1, spec, at(0)));

    assertThat(detail(1).envVariables()).isEqualTo(-1);
    assertThat(store.spec(1).orElseThrow().env()).isNull();
  }

  @Test
  void theHistoryListsEveryAttemptInOrderThroughDeclinesRequeuesAndTheEnd() {
    persist(queued(1, 0), offered(1, 1, "w1", 1));
    persist(new Event.JobDeclined(1, 1, "w1", "busy", at(2)));
    persist(offered(1, 2, "w2", 3));
    persist(started(1, 2, 4));
    persist(new Event.JobRequeued(1, 2, "worker w2 lost", at(5)));
    persist(offered(1, 3, "w1", 6));
    persist(started(1, 3, 7), exited(1, 3, 0, 7, 8));
    persist(queued(2, 0), offered(2, 1, "w1", 1), started(2, 1, 2));
    persist(new Event.JobCanceled(2, "killed by user", at(3)));
    persist(queued(3, 0), offered(3, 1, "w1", 1));
    persist(new Event.JobFailed(3, "lost 1 time", at(2)));

    assertThat(detail(1).history())
        .containsExactly(
            new JobEvent(at(0), 0, "submitted", null, null),
            new JobEvent(at(1), 1, "offered", "w1", null),
            new JobEvent(at(2), 1, "declined", "w1", "busy"),
            new JobEvent(at(3), 2, "offered", "w2", null),
            new JobEvent(at(4), 2, "started", "w2", null),
            new JobEvent(at(5), 2, "requeued", "w2", "worker w2 lost"),
            new JobEvent(at(6), 3, "offered", "w1", null),
            new JobEvent(at(7), 3, "started", "w1", null),
            new JobEvent(at(8), 3, "ended", "w1", "exit 0"));
    assertThat(detail(2).history())
        .containsExactly(
            new JobEvent(at(0), 0, "submitted", null, null),
            new JobEvent(at(1), 1, "offered", "w1", null),
            new JobEvent(at(2), 1, "started", "w1", null),
            new JobEvent(at(3), 1, "canceled", "w1", "killed by user"));
    assertThat(detail(3).history())
        .containsExactly(
            new JobEvent(at(0), 0, "submitted", null, null),
            new JobEvent(at(1), 1, "offered", "w1", null),
            new JobEvent(at(2), 1, "failed", "w1", "lost 1 time"));
  }

  @Test
  void nextJobIdFollowsTheHighestQueuedId() {
    persist(queued(1, 0), queued(2, 0));
    assertThat(store.nextJobId()).isEqualTo(3);
    persist(queued(10, 1));
    assertThat(store.nextJobId()).isEqualTo(11);
  }

  @Test
  void anOfferedJobRecordsAttemptAndWorker() {
    persist(queued(1, 0), offered(1, 1, "big-server", 2));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.OFFERED);
    assertThat(summary.attempt()).isEqualTo(1);
    assertThat(summary.worker()).isEqualTo("big-server");
    assertThat(detail(1).history())
        .last()
        .isEqualTo(new JobEvent(at(2), 1, "offered", "big-server", null));
  }

  @Test
  void theDevicesOfAnAttemptAreStoredShownAndRestoredWithItsRequest() {
    JobSpec gpuJob =
        Jobs.aSpec().withWorkerResources(Map.of("gpus", 2.0, "fpga", 0.5)).withGpuRamMb(8000L);
    Map<String, List<Integer>> devices = Map.of("gpus", List.of(1, 3), "fpga", List.of(0));
    persist(
        new Event.JobQueued(1, gpuJob, at(1)),
        new Event.JobOffered(1, 1, 4, "ralab04", at(2), devices));
    // Queued and offered in separate batches: the offer updates the row.
    persist(new Event.JobQueued(2, gpuJob, at(3)));
    persist(new Event.JobOffered(2, 1, 4, "ralab04", at(4), Map.of("gpus", List.of(0, 2))));

    assertThat(detail(1).devices()).isEqualTo(devices);
    assertThat(detail(1).spec().workerResources()).isEqualTo(gpuJob.workerResources());
    assertThat(detail(1).spec().gpuRamMb()).isEqualTo(8000);
    assertThat(detail(2).devices()).isEqualTo(Map.of("gpus", List.of(0, 2)));
    assertThat(store.spec(2).orElseThrow().workerResources()).isEqualTo(gpuJob.workerResources());
    assertThat(store.activeJobs())
        .extracting(RestoredJob::devices)
        .containsExactly(devices, Map.of("gpus", List.of(0, 2)));
    assertThat(store.activeJobs())
        .extracting(RestoredJob::workerResources)
        .containsOnly(gpuJob.workerResources());
    assertThat(detail(1).history())
        .last()
        .isEqualTo(new JobEvent(at(2), 1, "offered", "ralab04", null));
  }

  @Test
  void aDeclinedJobIsPendingAgainAndItsHistoryTellsWhy() {
    persist(
        queued(1, 0),
        offered(1, 1, "ws-3", 1),
        new Event.JobDeclined(1, 1, "ws-3", "working directory /data/exp not found", at(2)));

    assertThat(summary(1).state()).isEqualTo(JobState.PENDING);
    assertThat(detail(1).history())
        .extracting(JobEvent::what)
        .containsExactly("submitted", "offered", "declined");
    assertThat(detail(1).history())
        .last()
        .isEqualTo(
            new JobEvent(at(2), 1, "declined", "ws-3", "working directory /data/exp not found"));
  }

  @Test
  void aStartedJobIsRunningSinceItsStartTime() {
    persist(queued(1, 0), offered(1, 1, "w1", 1), started(1, 1, 3));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.RUNNING);
    assertThat(summary.started()).isEqualTo(at(3));
    assertThat(detail(1).history()).last().isEqualTo(new JobEvent(at(3), 1, "started", "w1", null));
  }

  @Test
  void anEndedJobKeepsExitCodeWorkerTimesAndCapturedOutput() {
    CapturedOutput stdout = new CapturedOutput("…last lines\n", 12_345);
    CapturedOutput stderr = new CapturedOutput("warning: x\n", 0);
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobEnded(
            1, 1, new JobOutcome(0, null, null, at(2.5), at(10)), stdout, stderr, at(10.2)));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.FINISHED);
    assertThat(summary.succeeded()).isTrue();
    assertThat(summary.exitCode()).isZero();
    assertThat(summary.signal()).isNull();
    assertThat(summary.note()).isNull();
    assertThat(summary.worker()).isEqualTo("w1");
    assertThat(summary.started()).as("the worker's start time wins").isEqualTo(at(2.5));
    assertThat(summary.ended()).isEqualTo(at(10));
    JobDetail detail = detail(1);
    assertThat(detail.stdout()).isEqualTo(stdout);
    assertThat(detail.stdout().truncated()).isTrue();
    assertThat(detail.stderr()).isEqualTo(stderr);
    assertThat(detail.history())
        .last()
        .isEqualTo(new JobEvent(at(10.2), 1, "ended", "w1", "exit 0"));
  }

  @Test
  void eachAttemptKeepsItsOwnOutputAndOnlyTheLastAttemptsAreKept() {
    int attempts = JobStore.KEPT_OUTPUT_ATTEMPTS + 3;
    List<Event> events = new ArrayList<>();
    events.add(queued(1, 0));
    for (int attempt = 1; attempt <= attempts; attempt++) {
      events.add(offered(1, attempt, "w" + attempt, attempt));
      events.add(started(1, attempt, attempt + 0.1));
      CapturedOutput stdout = new CapturedOutput("out " + attempt + "\n", 0);
      CapturedOutput stderr =
          attempt % 2 == 0 ? CapturedOutput.EMPTY : new CapturedOutput("err " + attempt, 0);
      JobOutcome failed = new JobOutcome(1, null, null, at(attempt + 0.1), at(attempt + 0.5));
      events.add(
          attempt < attempts
              ? new Event.JobRetried(
                  1, attempt, failed, stdout, stderr, attempt, attempts, null, at(attempt + 0.5))
              : new Event.JobEnded(1, attempt, failed, stdout, stderr, at(attempt + 0.5)));
    }
    persist(events);

    JobDetail detail = detail(1);
    assertThat(detail.outputAttempts())
        .as("the last %d attempts", JobStore.KEPT_OUTPUT_ATTEMPTS)
        .containsExactlyElementsOf(
            java.util.stream.IntStream.rangeClosed(4, attempts).boxed().toList());
    assertThat(detail.stdout().text()).isEqualTo("out " + attempts + "\n");
    assertThat(store.output(1, 3)).as("older than the kept attempts").isEmpty();
    assertThat(store.output(1, 5).orElseThrow())
        .isEqualTo(
            new AttemptOutput(5, new CapturedOutput("out 5\n", 0), new CapturedOutput("err 5", 0)));
    assertThat(store.output(1, 6).orElseThrow().stderr()).isEqualTo(CapturedOutput.EMPTY);
  }

  @Test
  void aRequeuedJobKeepsTheOutputOfItsEndedAttempt() {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobEnded(
            1,
            1,
            new JobOutcome(1, null, null, at(2), at(3)),
            new CapturedOutput("first\n", 0, List.of(0L, 0L, 2L, 3L)),
            new CapturedOutput("!\n", 0, List.of(1L, 0L)),
            at(3)),
        new Event.JobRerun(1, "by user", at(4)));

    assertThat(store.output(1, 1).orElseThrow().stdout())
        .as("with where the job switched streams")
        .isEqualTo(new CapturedOutput("first\n", 0, List.of(0L, 0L, 2L, 3L)));
    assertThat(detail(1).outputAttempts()).containsExactly(1);
  }

  @Test
  void aJobKilledBySignalIsFailedWithTheSignalInItsHistory() {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobEnded(
            1,
            1,
            new JobOutcome(null, 9, null, at(2), at(4)),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY,
            at(4)));

    JobSummary summary = summary(1);
    assertThat(summary.failed()).isTrue();
    assertThat(summary.exitCode()).isNull();
    assertThat(summary.signal()).isEqualTo(9);
    assertThat(detail(1).history()).last().extracting(JobEvent::detail).isEqualTo("signal 9");
  }

  @Test
  void aJobThatCouldNotStartIsFinishedWithTheFailureAsNote() {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        new Event.JobEnded(
            1,
            1,
            new JobOutcome(null, null, "command not found: ./rn.sh", null, at(1.5)),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY,
            at(1.5)));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.FINISHED);
    assertThat(summary.failed()).isTrue();
    assertThat(summary.started()).isNull();
    assertThat(summary.ended()).isEqualTo(at(1.5));
    assertThat(summary.note()).isEqualTo("command not found: ./rn.sh");
    assertThat(detail(1).history())
        .last()
        .isEqualTo(new JobEvent(at(1.5), 1, "ended", "w1", "command not found: ./rn.sh"));
  }

  @Test
  void aRequeuedJobIsPendingWithoutStartTimeAndRemembersItsLastWorker() {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobRequeued(1, 1, "worker w1 lost", at(30)),
        offered(1, 2, "w2", 31));
    assertThat(summary(1).attempt()).isEqualTo(2);
    assertThat(summary(1).worker()).isEqualTo("w2");

    persist(new Event.JobRequeued(1, 2, "offer expired", at(40)));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.PENDING);
    assertThat(summary.started()).isNull();
    assertThat(summary.worker()).isEqualTo("w2");
    assertThat(detail(1).history())
        .extracting(JobEvent::what, JobEvent::attempt, JobEvent::worker, JobEvent::detail)
        .containsExactly(
            tuple("submitted", 0, null, null),
            tuple("offered", 1, "w1", null),
            tuple("started", 1, "w1", null),
            tuple("requeued", 1, "w1", "worker w1 lost"),
            tuple("offered", 2, "w2", null),
            tuple("requeued", 2, "w2", "offer expired"));
  }

  @Test
  void aCanceledJobKeepsTheReasonAndTheTimeItWasCanceled() {
    persist(
        queued(1, 0),
        queued(2, 0),
        offered(2, 1, "w1", 1),
        started(2, 1, 2),
        new Event.JobCanceled(1, "removed by user", at(5)),
        new Event.JobCanceled(2, "killed by user", at(6)));

    JobSummary pending = summary(1);
    assertThat(pending.state()).isEqualTo(JobState.CANCELED);
    assertThat(pending.ended()).isEqualTo(at(5));
    assertThat(pending.note()).isEqualTo("removed by user");
    assertThat(detail(1).history())
        .last()
        .isEqualTo(new JobEvent(at(5), 0, "canceled", null, "removed by user"));
    assertThat(detail(2).history())
        .last()
        .as("a job canceled while running names the worker that ran it")
        .isEqualTo(new JobEvent(at(6), 1, "canceled", "w1", "killed by user"));
  }

  @Test
  void aFailedJobIsFinishedWithoutExitCodeAndCountsAsFailed() {
    persist(queued(1, 0), new Event.JobFailed(1, "lost 3 times, giving up", at(9)));

    JobSummary summary = summary(1);
    assertThat(summary.state()).isEqualTo(JobState.FINISHED);
    assertThat(summary.exitCode()).isNull();
    assertThat(summary.failed()).isTrue();
    assertThat(summary.note()).isEqualTo("lost 3 times, giving up");
    assertThat(summary.ended()).isEqualTo(at(9));
    assertThat(detail(1).history())
        .last()
        .isEqualTo(new JobEvent(at(9), 0, "failed", null, "lost 3 times, giving up"));
    assertThat(store.stats(at(10)).failed()).isEqualTo(1);
    assertThat(ids(store.list(0, List.of(JobFilter.FAILED)))).containsExactly(1L);
  }

  @Test
  void expiryDeletesOnlyJobsThatEndedBeforeTheCutoffWithTheirHistoryAndOutput() {
    persist(ranToCompletion(1, 0, 0, 10));
    persist(queued(2, 0), new Event.JobCanceled(2, "removed", at(20)));
    persist(ranToCompletion(3, 1, 0, 100));
    persist(queued(4, 0));
    persist(queued(5, 0), offered(5, 1, "w1", 1), started(5, 1, 2));

    persist(new Event.FinishedJobsExpired(at(50)));

    assertThat(ids(store.list(0, List.of()))).containsExactly(3L, 4L, 5L);
    assertThat(store.detail(1)).isEmpty();
    assertThat(store.spec(2)).isEmpty();
    assertThat(store.stats(at(200)))
        .extracting(JobStats::succeeded, JobStats::failed, JobStats::canceled)
        .containsExactly(0L, 1L, 0L);
    assertThat(store.nextJobId()).isEqualTo(6);
  }

  @Test
  void aLargeExpiryDeletesOneChunkPerTransactionOldestEndFirstUntilNoneIsLeft() {
    List<Event> events = new java.util.ArrayList<>();
    for (int id = 1; id <= 12_000; id++) {
      events.add(queued(id, 0));
      events.add(new Event.JobCanceled(id, "removed", at(1 + id / 1000.0)));
    }
    persist(events);
    persist(queued(12_001, 0));

    persist(new Event.FinishedJobsExpired(at(100)));

    assertThat(store.stats(at(100)).canceled()).isEqualTo(7_000);
    assertThat(store.detail(5_000)).as("the oldest ends go first").isEmpty();
    assertThat(store.detail(5_001)).isPresent();
    assertThat(store.expire(at(100), 5_000)).isEqualTo(5_000);
    assertThat(store.expire(at(100), 5_000)).isEqualTo(2_000);
    assertThat(store.expire(at(100), 5_000)).isZero();
    assertThat(ids(store.list(0, List.of()))).containsExactly(12_001L);
  }

  @Test
  void cleaningWithALimitDeletesAtMostThatManyJobs() {
    for (int id = 1; id <= 5; id++) {
      persist(ranToCompletion(id, 0, 0, 10));
    }

    assertThat(store.clean(false, 2)).isEqualTo(2);
    assertThat(store.clean(false, 2)).isEqualTo(2);
    assertThat(store.clean(false, 2)).isEqualTo(1);
    assertThat(store.list(0, List.of())).isEmpty();
  }

  @Test
  void cleaningForgetsSucceededAndCanceledJobsAndWithAllAlsoFailedOnes() {
    persist(ranToCompletion(1, 0, 0, 10));
    persist(ranToCompletion(2, 3, 0, 10));
    persist(queued(3, 0), new Event.JobCanceled(3, "removed", at(1)));
    persist(queued(4, 0));
    persist(queued(5, 0), new Event.JobFailed(5, "gave up", at(2)));

    assertThat(store.clean(false)).isEqualTo(2);
    assertThat(ids(store.list(0, List.of()))).containsExactly(2L, 4L, 5L);
    assertThat(store.detail(3)).isEmpty();

    assertThat(store.clean(true)).isEqualTo(2);
    assertThat(ids(store.list(0, List.of()))).containsExactly(4L);
    assertThat(store.clean(true)).isZero();
    assertThat(store.nextJobId()).as("ids are never reused").isEqualTo(6);
  }

  @Test
  void listingReturnsTheNewestJobsOldestFirst() {
    List<Event> events = new ArrayList<>();
    for (long id = 1; id <= 10; id++) {
      events.add(queued(id, id));
    }
    persist(events);

    assertThat(ids(store.list(3, List.of()))).containsExactly(8L, 9L, 10L);
    assertThat(ids(store.list(0, List.of()))).hasSize(10).startsWith(1L).endsWith(10L);
    assertThat(ids(store.list(50, List.of()))).hasSize(10);
    assertThatThrownBy(() -> store.list(-1, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void listingByFilterSplitsFinishedJobsIntoSucceededAndFailed() {
    persist(ranToCompletion(1, 0, 0, 1));
    persist(ranToCompletion(2, 2, 0, 1));
    persist(queued(3, 0));
    persist(queued(4, 0), offered(4, 1, "w1", 1));
    persist(queued(5, 0), offered(5, 1, "w1", 1), started(5, 1, 2));
    persist(queued(6, 0), new Event.JobCanceled(6, "removed", at(3)));
    persist(ranToCompletion(7, 0, 0, 1));
    persist(queued(8, 0), new Event.JobFailed(8, "gave up", at(3)));

    assertThat(ids(store.list(0, List.of(JobFilter.SUCCEEDED)))).containsExactly(1L, 7L);
    assertThat(ids(store.list(0, List.of(JobFilter.FAILED)))).containsExactly(2L, 8L);
    assertThat(ids(store.list(0, List.of(JobFilter.PENDING)))).containsExactly(3L);
    assertThat(ids(store.list(0, List.of(JobFilter.OFFERED)))).containsExactly(4L);
    assertThat(ids(store.list(0, List.of(JobFilter.RUNNING)))).containsExactly(5L);
    assertThat(ids(store.list(0, List.of(JobFilter.CANCELED)))).containsExactly(6L);
    assertThat(ids(store.list(0, List.of(JobFilter.PENDING, JobFilter.FAILED, JobFilter.PENDING))))
        .containsExactly(2L, 3L, 8L);
    assertThat(ids(store.list(2, List.of(JobFilter.SUCCEEDED, JobFilter.FAILED))))
        .as("the newest two across both filters")
        .containsExactly(7L, 8L);
    for (JobFilter filter : JobFilter.values()) {
      assertThat(store.list(0, List.of(filter))).allMatch(filter::matches);
    }
  }

  @Test
  void summariesReturnTheStoredJobsAmongTheIdsInIdOrder() {
    persist(queued(1, 0), queued(2, 0), queued(3, 0));

    assertThat(ids(store.summaries(List.of(3L, 1L, 99L)))).containsExactly(1L, 3L);
    assertThat(store.summaries(List.of())).isEmpty();
    assertThat(store.summary(99)).isEmpty();
  }

  @Test
  void activeJobsAreTheUnfinishedOnesInIdOrderWithTheirDemand() {
    JobSpec big =
        JobSpecBuilder.builder()
            .argv(List.of("big"))
            .cwd("/x")
            .env(ENV)
            .slots(3)
            .cpus(16)
            .ramMb(64_000)
            .globalResources(Map.of("licence", 1))
            .build();
    persist(new Event.JobQueued(1, big, at(1)), offered(1, 1, "w1", 2));
    persist(ranToCompletion(2, 0, 0, 1));
    persist(queued(3, 3), offered(3, 1, "w1", 4), started(3, 1, 5));
    persist(queued(4, 4));
    persist(queued(5, 5), new Event.JobCanceled(5, "removed", at(6)));

    assertThat(store.activeJobs())
        .containsExactly(
            new RestoredJob(
                1, JobState.OFFERED, new Resources(3, 16, 64_000), Map.of("licence", 1), 1, at(1)),
            new RestoredJob(3, JobState.RUNNING, new Resources(1, 2, 1024), Map.of(), 1, at(3)),
            new RestoredJob(4, JobState.PENDING, new Resources(1, 2, 1024), Map.of(), 0, at(4)));
  }

  @Test
  void statsCountEveryStateAndEstimateFromFinishedAndRunningJobs() {
    persist(ranToCompletion(1, 0, 0, 100));
    persist(ranToCompletion(2, 1, 0, 200));
    persist(queued(3, 0), new Event.JobCanceled(3, "removed", at(1)));
    persist(queued(4, 0), offered(4, 1, "w1", 0));
    persist(queued(5, 0), offered(5, 1, "w1", 0), started(5, 1, 100));
    persist(queued(6, 0), offered(6, 1, "w1", 0), started(6, 1, 250));
    for (long id = 7; id <= 12; id++) {
      persist(queued(id, 0));
    }

    JobStats stats = store.stats(at(300));

    assertThat(stats.pending()).isEqualTo(6);
    assertThat(stats.offered()).isEqualTo(1);
    assertThat(stats.running()).isEqualTo(2);
    assertThat(stats.succeeded()).isEqualTo(1);
    assertThat(stats.failed()).isEqualTo(1);
    assertThat(stats.canceled()).isEqualTo(1);
    // finished: 100 s and 200 s (mean 150); running for 200 s and 50 s: mean of all 137.5
    assertThat(stats.averageRunSeconds()).isCloseTo(150.0, within(1e-9));
    // newest running needs 150 - 50 = 100 more; 7 waiting over 2 running: 7 * 150 / 2 = 525
    assertThat(stats.etaSeconds()).isCloseTo(625.0, within(1e-9));
  }

  @Test
  void statsUseTheOverallMeanWhenRunningJobsAreAlreadyLongerThanFinishedOnes() {
    persist(ranToCompletion(1, 0, 0, 10));
    persist(queued(2, 0), offered(2, 1, "w1", 0), started(2, 1, 0));

    JobStats stats = store.stats(at(110));

    // finished mean 10, mean of 10 and 110 = 60; no waiting jobs; newest running needs nothing
    assertThat(stats.averageRunSeconds()).isCloseTo(60.0, within(1e-9));
    assertThat(stats.etaSeconds()).isCloseTo(0.0, within(1e-9));
  }

  @Test
  void statsWithOnlyRunningJobsHaveNoAverageAndNoEta() {
    // Jobs of 200 s, 3 s after their start: an average of 3 s and an ETA of 5 s would mislead.
    persist(queued(1, 0), offered(1, 1, "w1", 0), started(1, 1, 97));
    persist(queued(2, 0), offered(2, 1, "w1", 0), started(2, 1, 98));
    persist(queued(3, 0));

    JobStats stats = store.stats(at(100));

    assertThat(stats.running()).isEqualTo(2);
    assertThat(stats.averageRunSeconds()).isNull();
    assertThat(stats.etaSeconds()).isNull();
  }

  @Test
  void statsWithoutAnyRunTimeHaveNoAverageAndNoEta() {
    persist(queued(1, 0), queued(2, 0));
    persist(queued(3, 0), new Event.JobFailed(3, "gave up", at(1)));

    JobStats stats = store.stats(at(100));

    assertThat(stats.pending()).isEqualTo(2);
    assertThat(stats.failed()).isEqualTo(1);
    assertThat(stats.averageRunSeconds()).isNull();
    assertThat(stats.etaSeconds()).isNull();
  }

  @Test
  void statsWithNothingRunningHaveAnAverageButNoEta() {
    // Waiting jobs that nothing runs (no worker fits them, say) may never end.
    persist(ranToCompletion(1, 0, 0, 30));
    persist(queued(2, 0), queued(3, 0));

    JobStats stats = store.stats(at(100));

    assertThat(stats.averageRunSeconds()).isCloseTo(30.0, within(1e-9));
    assertThat(stats.etaSeconds()).isNull();
  }

  @Test
  void aBatchThatFailsMidwayStoresNothing() {
    persist(queued(1, 0));

    assertThatThrownBy(
            () ->
                persist(
                    queued(2, 1), offered(1, 1, "w1", 1), queued(3, 1), queued(2, 2), queued(4, 3)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("job 2");

    assertThat(ids(store.list(0, List.of()))).containsExactly(1L);
    assertThat(summary(1).state()).isEqualTo(JobState.PENDING);
    assertThat(detail(1).history()).hasSize(1);
    assertThat(store.nextJobId()).isEqualTo(2);

    persist(queued(2, 5), offered(1, 1, "w1", 5));
    assertThat(ids(store.list(0, List.of()))).containsExactly(1L, 2L);
    assertThat(summary(1).state()).isEqualTo(JobState.OFFERED);
    assertThat(store.nextJobId()).isEqualTo(3);
  }

  @Test
  void aStateChangeOfAnUnknownJobIsRejected() {
    assertThatThrownBy(() -> persist(started(42, 1, 0)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("job 42 is not stored");
  }

  @Test
  void aStateChangeOfAnEndedJobIsRejectedAndLeavesItAsItWas() {
    persist(ranToCompletion(1, 0, 0, 10));

    assertThatThrownBy(() -> persist(new Event.JobCanceled(1, "late", at(20))))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("job 1 has already ended");
    assertThat(summary(1).succeeded()).isTrue();
    assertThat(detail(1).history()).extracting(JobEvent::what).doesNotContain("canceled");
  }

  @Test
  void anIdThatWasHandedOutBeforeIsNeverQueuedAgain() {
    persist(queued(1, 0), queued(2, 0));
    persist(new Event.JobCanceled(2, "x", at(1)));
    store.clean(true);

    assertThatThrownBy(() -> persist(queued(2, 5)))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("already handed out");
    assertThat(store.list(0, List.of())).extracting(JobSummary::id).containsExactly(1L);
  }

  @Test
  void anEmptyBatchChangesNothing() {
    persist(List.of());
    assertThat(store.nextJobId()).isEqualTo(1);
  }

  @Test
  void endedTimesFallBackToTheEventTimeWhenTheWorkerGaveNone() {
    persist(
        queued(1, 0),
        offered(1, 1, "w1", 1),
        started(1, 1, 2),
        new Event.JobEnded(
            1,
            1,
            new JobOutcome(1, null, null, null, null),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY,
            at(8)));

    JobSummary summary = summary(1);
    assertThat(summary.started()).isEqualTo(at(2));
    assertThat(summary.ended()).isEqualTo(at(8));
  }

  // ---- batches

  static Event.JobQueued inBatch(long id, long batch, long index, double atSeconds) {
    JobSpec spec = Jobs.aSpec();
    return new Event.JobQueued(id, spec.forJob(id, spec.argv(), batch, index), at(atSeconds));
  }

  /** Batch 2: jobs 2-6 with indices 10-14; job 1 and job 7 are on their own. */
  void storeAMixedBatch() {
    persist(queued(1, 0));
    persist(
        inBatch(2, 2, 10, 0),
        inBatch(3, 2, 11, 0),
        inBatch(4, 2, 12, 0),
        inBatch(5, 2, 13, 0),
        inBatch(6, 2, 14, 0),
        queued(7, 0));
    persist(ranToCompletion(2, 0, 0, 2).subList(1, 4));
    persist(ranToCompletion(3, 3, 0, 4).subList(1, 4));
    persist(offered(4, 1, "w1", 1), started(4, 1, 1));
    persist(new Event.JobCanceled(6, "canceled by user", at(5)));
  }

  @Test
  void pagesContinueFromTheCursorInEitherOrderAndNarrowByStateBatchWorkerAndText() {
    storeAMixedBatch();
    persist(new Event.JobQueued(8, aSpecWith(List.of("./train.py", "--lr", "50%_off")), at(6)));

    assertThat(ids(store.page(query(List.of(), null, null, null, true, null, 3))))
        .containsExactly(8L, 7L, 6L);
    assertThat(ids(store.page(query(List.of(), null, null, null, true, 6L, 3))))
        .containsExactly(5L, 4L, 3L);
    assertThat(ids(store.page(query(List.of(), null, null, null, false, 6L, 3))))
        .containsExactly(7L, 8L);
    assertThat(
            ids(
                store.page(
                    query(
                        List.of(JobFilter.PENDING, JobFilter.SUCCEEDED),
                        null,
                        null,
                        null,
                        true,
                        null,
                        10))))
        .containsExactly(8L, 7L, 5L, 2L, 1L);
    assertThat(ids(store.page(query(List.of(JobFilter.PENDING), 2L, null, null, false, null, 10))))
        .containsExactly(5L);
    assertThat(ids(store.page(query(List.of(), null, "w1", null, true, null, 10))))
        .containsExactly(4L, 3L, 2L);
    assertThat(ids(store.page(query(List.of(), null, null, "TRAIN", true, null, 10))))
        .containsExactly(8L);
    assertThat(ids(store.page(query(List.of(), null, null, "0%_", true, null, 10))))
        .as("%% and _ are matched as themselves")
        .containsExactly(8L);
    assertThat(ids(store.page(query(List.of(), null, null, "1%", true, null, 10)))).isEmpty();
  }

  @Test
  void pagesByStateContinueFromTheCursorsStateAndId() {
    storeAMixedBatch();
    persist(queued(8, 6));

    assertThat(ids(store.page(byState(false, null, null, 3)))).containsExactly(1L, 5L, 7L);
    assertThat(ids(store.page(byState(false, JobFilter.PENDING, 7L, 3))))
        .as("the last pending job, then the running and succeeded ones")
        .containsExactly(8L, 4L, 2L);
    assertThat(ids(store.page(byState(false, JobFilter.SUCCEEDED, 2L, 10))))
        .containsExactly(3L, 6L);
    assertThat(ids(store.page(byState(true, null, null, 4)))).containsExactly(6L, 3L, 2L, 4L);
    assertThat(ids(store.page(byState(true, JobFilter.RUNNING, 4L, 10))))
        .containsExactly(8L, 7L, 5L, 1L);
  }

  private static kueue.model.JobQuery byState(
      boolean descending, JobFilter afterState, Long after, int limit) {
    return new kueue.model.JobQuery(
        List.of(), null, null, null, descending, after, limit, true, afterState);
  }

  @Test
  void endedJobsAreCountedPerMinuteSinceAGivenTimeLeavingCanceledOnesOut() {
    persist(ranToCompletion(1, 0, 0, 10));
    persist(ranToCompletion(2, 1, 0, 50));
    persist(ranToCompletion(3, 0, 0, 70));
    persist(ranToCompletion(4, 0, 0, 200));
    persist(queued(5, 0), new Event.JobCanceled(5, "removed", at(20)));

    var counts = store.endedPerMinute(at(5));

    long minute = Jobs.T0.getEpochSecond();
    assertThat(counts)
        .containsExactly(
            java.util.Map.entry(minute, 2L),
            java.util.Map.entry(minute + 60, 1L),
            java.util.Map.entry(minute + 180, 1L));
    assertThat(store.endedPerMinute(at(100))).containsOnlyKeys(minute + 180);
  }

  private static kueue.model.JobQuery query(
      List<JobFilter> filters,
      Long batch,
      String worker,
      String text,
      boolean newestFirst,
      Long after,
      int limit) {
    return new kueue.model.JobQuery(filters, batch, worker, text, newestFirst, after, limit);
  }

  @Test
  void aBatchJobKeepsItsBatchAndIndexInSummarySpecAndDetail() {
    persist(inBatch(1, 1, 7, 0), queued(2, 0));

    assertThat(summary(1).batch()).isEqualTo(1L);
    assertThat(summary(1).arrayIndex()).isEqualTo(7L);
    assertThat(store.spec(1).orElseThrow().arrayIndex()).isEqualTo(7L);
    assertThat(detail(1).spec().batch()).isEqualTo(1L);
    assertThat(summary(2).batch()).isNull();
    assertThat(summary(2).arrayIndex()).isNull();
  }

  @Test
  void aBatchSummaryCountsItsJobsPerStateAndNamesTheFirstFailure() {
    storeAMixedBatch();

    BatchSummary batch = store.batch(2, at(6)).orElseThrow();

    assertThat(batch.batch()).isEqualTo(2);
    assertThat(batch.firstJob()).isEqualTo(2);
    assertThat(batch.lastJob()).isEqualTo(6);
    assertThat(batch.jobs()).isEqualTo(5);
    assertThat(batch.command()).isEqualTo("./run.sh --seed 1");
    assertThat(batch.cwd()).isEqualTo("/home/ada/exp");
    assertThat(batch.submitted()).isEqualTo(at(0));
    assertThat(batch.ended()).isNull();
    assertThat(batch.stats())
        .extracting(
            JobStats::pending,
            JobStats::offered,
            JobStats::running,
            JobStats::succeeded,
            JobStats::failed,
            JobStats::canceled)
        .containsExactly(1L, 0L, 1L, 1L, 1L, 1L);
    // Finished: 2 s and 4 s; running for 5 s: the mean of all three is larger than that of the two.
    assertThat(batch.stats().averageRunSeconds()).isCloseTo(11 / 3.0, within(0.001));
    assertThat(batch.firstFailure().id()).isEqualTo(3);
    assertThat(batch.active()).isEqualTo(2);
  }

  @Test
  void aBatchWhoseJobsAllEndedTellsWhenTheLastOneEnded() {
    persist(inBatch(1, 1, 1, 0), inBatch(2, 1, 2, 0));
    persist(ranToCompletion(1, 0, 0, 3).subList(1, 4));
    persist(ranToCompletion(2, 0, 1, 7).subList(1, 4));

    BatchSummary batch = store.batch(1, at(9)).orElseThrow();

    assertThat(batch.ended()).isEqualTo(at(7));
    assertThat(batch.firstFailure()).isNull();
    assertThat(batch.stats().succeeded()).isEqualTo(2);
    assertThat(batch.stats().averageRunSeconds()).isCloseTo(4.5, within(0.001));
  }

  @Test
  void listingABatchShowsOnlyItsJobsNewestLimitOldestFirstAndHonoursFilters() {
    storeAMixedBatch();

    assertThat(ids(store.listBatch(2, 0, List.of()))).containsExactly(2L, 3L, 4L, 5L, 6L);
    assertThat(ids(store.listBatch(2, 2, List.of()))).containsExactly(5L, 6L);
    assertThat(ids(store.listBatch(2, 0, List.of(JobFilter.FAILED, JobFilter.PENDING))))
        .containsExactly(3L, 5L);
    assertThat(store.listBatch(99, 0, List.of())).isEmpty();
  }

  @Test
  void batchesAreListedNewestLastAndAFilterKeepsThoseWithAMatchingJob() {
    storeAMixedBatch();
    persist(inBatch(8, 8, 1, 9));

    assertThat(store.batches(0, List.of(), at(10)))
        .extracting(BatchSummary::batch)
        .containsExactly(2L, 8L);
    assertThat(store.batches(1, List.of(), at(10)))
        .extracting(BatchSummary::batch)
        .containsExactly(8L);
    assertThat(store.batches(0, List.of(JobFilter.FAILED), at(10)))
        .extracting(BatchSummary::batch)
        .containsExactly(2L);
    assertThat(store.batches(0, List.of(JobFilter.SUCCEEDED, JobFilter.PENDING), at(10)))
        .extracting(BatchSummary::batch)
        .containsExactly(2L, 8L);
  }

  @Test
  void theActiveJobsOfABatchAreTheOnesNotYetEnded() {
    storeAMixedBatch();

    assertThat(store.activeJobIds(2)).containsExactly(4L, 5L);
    assertThat(store.activeJobIds(99)).isEmpty();
  }

  @Test
  void anUnknownBatchIsEmpty() {
    persist(queued(1, 0));

    assertThat(store.batch(1, at(1))).isEmpty();
    assertThat(store.batch(42, at(1))).isEmpty();
    assertThat(store.batches(0, List.of(), at(1))).isEmpty();
  }
}
