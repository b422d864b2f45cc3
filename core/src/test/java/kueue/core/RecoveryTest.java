package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.AttemptRef;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class RecoveryTest {

  private static RestoredJob restored(
      long id, JobState state, int attempt, Map<String, Integer> resources) {
    return new RestoredJob(
        id, state, new Resources(1, 1, 100), resources, attempt, SchedulerHarness.START);
  }

  private static final String LOST =
      "worker worker disconnected (connection closed) and did not come back within 300s";

  @Test
  void aDisconnectedWorkersJobsKeepTheirResourcesUntilTheWorkerTimeoutPasses() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    long lost = harness.connect(aWorker().slots(2));
    long job = harness.submitOne(aJob().resource("genus", 1));
    harness.start(lost, job, 1);

    harness.disconnect(lost);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.view(job)).isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, -1, null));
    assertThat(harness.used("genus")).isEqualTo(1);
    long other = harness.connect(aWorker());
    assertThat(harness.offers()).isEmpty();
    harness.advance(Duration.ofSeconds(299));
    harness.tick();
    assertThat(harness.events(Event.JobRequeued.class)).isEmpty();

    harness.advance(Duration.ofSeconds(1));
    harness.tick();

    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(new Event.JobRequeued(job, 1, LOST, harness.now));
    assertThat(harness.offers()).containsExactly(entry(job, other));
  }

  @Test
  void aDisconnectedWorkersLostJobsGoBackToPendingInTheirOriginalPlace() {
    SchedulerHarness harness = SchedulerHarness.create();
    long lost = harness.connect(aWorker().slots(2));
    List<Long> jobs = harness.submit(aJob(), aJob(), aJob(), aJob());
    harness.start(lost, jobs.get(0), 1);

    harness.disconnectAndWaitOut(lost);

    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(
            new Event.JobRequeued(jobs.get(0), 1, LOST, harness.now),
            new Event.JobRequeued(jobs.get(1), 1, LOST, harness.now));
    assertThat(harness.state(jobs.get(0))).isEqualTo(JobState.PENDING);
    long next = harness.connect(aWorker().slots(3));
    assertThat(harness.offers())
        .containsExactly(
            entry(jobs.get(0), next), entry(jobs.get(1), next), entry(jobs.get(2), next));
    assertThat(harness.view(jobs.get(0)).attempt()).isEqualTo(2);
  }

  @Test
  void aWorkerThatReconnectsWithinTheTimeoutKeepsItsJobsAsTheSameAttempts() {
    SchedulerHarness harness = SchedulerHarness.create();
    long old = harness.connect(aWorker().slots(2));
    List<Long> jobs = harness.submit(aJob(), aJob());
    harness.start(old, jobs.get(0), 1);
    harness.disconnect(old);
    harness.advance(Duration.ofSeconds(299));
    harness.tick();

    long back =
        harness.connect(
            aWorker().slots(2), new AttemptRef(jobs.get(0), 1), new AttemptRef(jobs.get(1), 1));

    assertThat(harness.last.events())
        .containsExactly(new Event.JobStarted(jobs.get(1), 1, harness.now));
    assertThat(harness.view(jobs.get(0)))
        .isEqualTo(new ActiveJobView(jobs.get(0), JobState.RUNNING, 1, back, null));
    assertThat(harness.worker(back).reserved()).isEqualTo(new Resources(2, 2, 200));
    harness.advance(Duration.ofSeconds(10));
    harness.tick();
    assertThat(harness.events(Event.JobRequeued.class)).isEmpty();
    harness.endCurrent(jobs.get(0));
    assertThat(harness.events(Event.JobEnded.class)).hasSize(1);
  }

  @Test
  void theResultOfAnAttemptThatEndedWhileItsWorkerWasDisconnectedIsKept() {
    SchedulerHarness harness = SchedulerHarness.create();
    long old = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.start(old, job, 1);
    harness.disconnect(old);
    long back = harness.connect(aWorker(), new AttemptRef(job, 1));

    harness.end(back, job, 1, 0);

    assertThat(harness.events(Event.JobEnded.class))
        .singleElement()
        .extracting(Event.JobEnded::attempt)
        .isEqualTo(1);
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }

  @Test
  void anAttemptReleasedByAStoppingWorkerIsRequeuedAtOnceWithoutCountingAsLost() {
    SchedulerHarness harness = SchedulerHarness.settings().maxAttempts(1).harness();
    long stopping = harness.connect(aWorker().named("alpha"));
    long job = harness.submitOne(aJob());
    harness.start(stopping, job, 1);

    harness.release(stopping, job, 1);

    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(
            new Event.JobRequeued(
                job, 1, "worker alpha released it: worker stopping", harness.now));
    assertThat(harness.offers()).as("a stopping worker gets no more work").isEmpty();
    harness.disconnect(stopping);
    long other = harness.connect(aWorker());
    assertThat(harness.offers()).containsExactly(entry(job, other));
    harness.startCurrent(job);

    harness.disconnectAndWaitOut(other);

    assertThat(harness.events(Event.JobFailed.class))
        .as("only the real loss counts against the one attempt allowed")
        .singleElement()
        .extracting(Event.JobFailed::reason)
        .isEqualTo("lost 1 time; last: " + LOST);
  }

  @Test
  void aReleaseOfAnAttemptThatIsNotCurrentChangesNothing() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker());
    long other = harness.connect(aWorker().loadCpus(1));
    long job = harness.submitOne(aJob());
    harness.start(worker, job, 1);

    harness.release(other, job, 1);
    harness.release(worker, job, 2);
    harness.release(worker, 999, 1);

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 1, worker, null));
  }

  @Test
  void aJobLostAsOftenAsMaxAttemptsAllowsFails() {
    SchedulerHarness harness =
        SchedulerHarness.settings().maxAttempts(2).resource("genus", 1).harness();
    long job = harness.submitOne(aJob().resource("genus", 1));
    long first = harness.connect(aWorker());
    harness.startCurrent(job);
    harness.disconnectAndWaitOut(first);
    assertThat(harness.events(Event.JobRequeued.class)).hasSize(1);
    long second = harness.connect(aWorker());
    harness.startCurrent(job);

    harness.disconnectAndWaitOut(second);

    assertThat(harness.events(Event.JobFailed.class))
        .containsExactly(new Event.JobFailed(job, "lost 2 times; last: " + LOST, harness.now));
    assertThat(harness.events(Event.JobRequeued.class)).isEmpty();
    assertThat(harness.last.effects()).containsExactly(new Effect.JobsTerminated(List.of(job)));
    assertThat(harness.scheduler.activeJob(job)).isEmpty();
    assertThat(harness.used("genus")).isZero();
  }

  @Test
  void declinesDoNotCountAsLostAttempts() {
    SchedulerHarness harness = SchedulerHarness.settings().maxAttempts(1).harness();
    long job = harness.submitOne(aJob());
    long a = harness.connect(aWorker());
    harness.decline(a, job, 1, true);
    long b = harness.connect(aWorker());
    harness.decline(b, job, 2, true);
    long c = harness.connect(aWorker());
    assertThat(harness.offers()).containsExactly(entry(job, c));

    harness.disconnectAndWaitOut(c);

    assertThat(harness.events(Event.JobFailed.class))
        .singleElement()
        .extracting(Event.JobFailed::reason)
        .isEqualTo("lost 1 time; last: " + LOST);
  }

  @Test
  void aSilentWorkerIsPresumedLostAfterTheWorkerTimeout() {
    SchedulerHarness harness =
        SchedulerHarness.settings().workerTimeout(Duration.ofSeconds(30)).harness();
    long silent = harness.connect(aWorker().named("silent"));
    long alive = harness.connect(aWorker().named("alive").loadCpus(1));
    long job = harness.submitOne(aJob());
    harness.start(silent, job, 1);
    harness.advance(Duration.ofSeconds(20));
    harness.update(alive, aWorker().loadCpus(1));
    harness.advance(Duration.ofSeconds(10));
    harness.tick();
    assertThat(harness.effects(Effect.CloseWorker.class)).isEmpty();

    harness.advance(Duration.ofSeconds(1));
    harness.tick();

    String reason = "worker silent silent for more than 30s";
    assertThat(harness.effects(Effect.CloseWorker.class))
        .containsExactly(new Effect.CloseWorker(silent, reason));
    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(new Event.JobRequeued(job, 1, reason, harness.now));
    assertThat(harness.scheduler.workers()).extracting(WorkerView::workerId).containsExactly(alive);
    assertThat(harness.offers()).containsExactly(entry(job, alive));
  }

  @Test
  void everyWorkerMessageCountsAsProofOfLife() {
    SchedulerHarness harness =
        SchedulerHarness.settings().workerTimeout(Duration.ofSeconds(30)).harness();
    long worker = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.advance(Duration.ofSeconds(25));
    harness.start(worker, job, 1);
    harness.advance(Duration.ofSeconds(25));

    harness.tick();

    assertThat(harness.effects(Effect.CloseWorker.class)).isEmpty();
    assertThat(harness.worker(worker).lastSeen()).isEqualTo(SchedulerHarness.START.plusSeconds(25));
  }

  @Test
  void anOfferNotAnsweredInTimeGoesBackToPending() {
    SchedulerHarness harness =
        SchedulerHarness.settings().offerTimeout(Duration.ofSeconds(60)).harness();
    long worker = harness.connect(aWorker().slots(1));
    long job = harness.submitOne(aJob());
    harness.advance(Duration.ofSeconds(60));
    harness.tick();
    assertThat(harness.events(Event.JobRequeued.class)).isEmpty();

    harness.advance(Duration.ofSeconds(1));
    harness.tick();

    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(new Event.JobRequeued(job, 1, "offer not answered in 60s", harness.now));
    assertThat(harness.offers()).containsExactly(entry(job, worker));
    assertThat(harness.view(job).attempt()).isEqualTo(2);
  }

  @Test
  void restoredPendingJobsAreOfferedOldestFirstInWhateverOrderTheyCome() {
    SchedulerHarness harness = SchedulerHarness.create();
    Resources small = new Resources(1, 1, 100);
    Resources large = new Resources(1, 2, 100);
    harness.restore(
        List.of(
            pending(9, small),
            pending(3, new Resources(1, 1, 100)),
            pending(8, large),
            pending(5, small),
            pending(4, large),
            pending(7, new Resources(1, 1, 100))));
    harness.cancel(4, false);

    harness.connect(aWorker().slots(4));

    assertThat(harness.offers().keySet()).containsExactly(3L, 5L, 7L, 8L);
  }

  @Test
  void aLongRunOfRestoredPendingJobsIsOneQueueThatJobsLeaveAndJoin() {
    SchedulerHarness harness = SchedulerHarness.create();
    Resources demand = new Resources(1, 1, 100);
    List<RestoredJob> run = new java.util.ArrayList<>();
    for (long id = 1; id <= 1000; id++) {
      run.add(pending(id, demand));
    }
    harness.restore(run);
    harness.cancel(2, false);
    harness.cancel(500, false);
    long added = harness.submitOne(aJob());

    assertThat(added).isEqualTo(1001);
    harness.connect(aWorker().slots(3));
    assertThat(harness.offers().keySet()).containsExactly(1L, 3L, 4L);
    assertThat(harness.scheduler.activeJobCount()).isEqualTo(999);
  }

  private static RestoredJob pending(long id, Resources demand) {
    return new RestoredJob(id, JobState.PENDING, demand, Map.of(), 0, SchedulerHarness.START);
  }

  @Test
  void aRestoredRunningJobIsClaimedByItsReconnectingWorker() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    harness.restore(
        List.of(
            restored(4, JobState.RUNNING, 2, Map.of("genus", 1)),
            restored(5, JobState.OFFERED, 1, Map.of()),
            restored(6, JobState.PENDING, 0, Map.of())));
    assertThat(harness.used("genus")).isEqualTo(1);
    assertThat(harness.scheduler.nextJobId()).isEqualTo(7);

    long worker = harness.connect(aWorker().slots(3), new AttemptRef(4, 2), new AttemptRef(5, 1));

    assertThat(harness.last.events())
        .containsExactly(
            new Event.JobStarted(5, 1, harness.now),
            new Event.JobOffered(6, 1, worker, "worker", harness.now));
    assertThat(harness.view(4)).isEqualTo(new ActiveJobView(4, JobState.RUNNING, 2, worker, null));
    assertThat(harness.view(5)).isEqualTo(new ActiveJobView(5, JobState.RUNNING, 1, worker, null));
    assertThat(harness.worker(worker).jobIds()).containsExactly(4L, 5L, 6L);
    assertThat(harness.used("genus")).isEqualTo(1);
  }

  @Test
  void theResultOfARestoredJobThatEndedWhileTheServerWasDownIsKept() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.restore(List.of(restored(4, JobState.RUNNING, 1, Map.of())));
    long worker = harness.connect(aWorker());

    harness.end(worker, 4, 1, 0);

    assertThat(harness.events(Event.JobEnded.class))
        .singleElement()
        .extracting(Event.JobEnded::jobId)
        .isEqualTo(4L);
    assertThat(harness.scheduler.activeJob(4)).isEmpty();
  }

  @Test
  void restoredJobsHoldTheirGlobalResourcesUntilTheWorkerTimeoutAndAreThenRequeued() {
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .resource("genus", 1)
            .workerTimeout(Duration.ofMinutes(5))
            .harness();
    harness.restore(List.of(restored(4, JobState.RUNNING, 1, Map.of("genus", 1))));
    long waiting = harness.submitOne(aJob().resource("genus", 1));
    long worker = harness.connect(aWorker());
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(waiting))
        .isEqualTo("waiting for global resource genus (1 of 1 in use)");
    harness.advance(Duration.ofMinutes(5).minusSeconds(1));
    harness.tick();
    assertThat(harness.events(Event.JobRequeued.class)).isEmpty();

    harness.advance(Duration.ofSeconds(1));
    harness.tick();

    assertThat(harness.events(Event.JobRequeued.class))
        .containsExactly(
            new Event.JobRequeued(
                4, 1, "worker did not come back after server restart", harness.now));
    assertThat(harness.offers()).containsExactly(entry(4L, worker));
    assertThat(harness.state(waiting)).isEqualTo(JobState.PENDING);
  }

  @Test
  void aReconnectingWorkerIsToldToKillAttemptsThatSomeoneElseOwnsNow() {
    SchedulerHarness harness = SchedulerHarness.create();
    long lost = harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.start(lost, job, 1);
    harness.disconnectAndWaitOut(lost);
    long other = harness.connect(aWorker());
    harness.start(other, job, 2);

    long back = harness.connect(aWorker(), new AttemptRef(job, 1), new AttemptRef(999, 1));

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.last.effects())
        .containsExactly(
            new Effect.SendKill(back, job, 1, "superseded"),
            new Effect.SendKill(back, 999, 1, "superseded"));
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.RUNNING, 2, other, null));
  }

  @Test
  void aWorkerReconnectingBeforeItsOldConnectionIsNoticedTakesItsJobsAlong() {
    SchedulerHarness harness = SchedulerHarness.create();
    long old = harness.connect(aWorker().slots(1));
    long job = harness.submitOne(aJob());
    harness.start(old, job, 1);

    long fresh = harness.connect(aWorker().slots(1), new AttemptRef(job, 1));

    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.view(job).workerId()).isEqualTo(fresh);
    assertThat(harness.worker(old).reserved()).isEqualTo(Resources.NONE);
    harness.disconnect(old);
    assertThat(harness.last.events()).isEmpty();
    assertThat(harness.state(job)).isEqualTo(JobState.RUNNING);
  }

  @Test
  void aKilledAttemptStillRunningOnAReconnectingWorkerKeepsItsResourcesThereAndIsKilledAgain() {
    SchedulerHarness harness = SchedulerHarness.create();
    long old = harness.connect(aWorker());
    long job = harness.submitOne(aJob().cpus(3));
    harness.start(old, job, 1);
    harness.cancel(job, true);

    long fresh = harness.connect(aWorker(), new AttemptRef(job, 1));

    assertThat(harness.last.effects())
        .containsExactly(new Effect.SendKill(fresh, job, 1, "canceled by user"));
    assertThat(harness.worker(fresh).reserved()).isEqualTo(new Resources(1, 3, 100));
    assertThat(harness.worker(old).reserved()).isEqualTo(Resources.NONE);
    harness.end(fresh, job, 1, 137);
    assertThat(harness.worker(fresh).reserved()).isEqualTo(Resources.NONE);
  }

  @Test
  void aKilledRestoredJobThatNoWorkerClaimedFreesItsGlobalResourcesAtOnce() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    harness.restore(List.of(restored(4, JobState.RUNNING, 1, Map.of("genus", 1))));

    Decisions decisions = harness.cancel(4, true);

    assertThat(decisions.effects())
        .containsExactly(new Effect.CancelAccepted(1, 4), new Effect.JobsTerminated(List.of(4L)));
    assertThat(harness.used("genus")).isZero();
  }

  @Test
  void finishedJobsExpireAtMostOncePerMinute() {
    SchedulerHarness harness = SchedulerHarness.create();
    Instant minute = Instant.parse("2030-01-01T10:00:00Z");
    harness.now = minute.plusSeconds(5);

    harness.tick();
    assertThat(harness.last.events())
        .containsExactly(new Event.FinishedJobsExpired(harness.now.minus(Duration.ofHours(48))));
    harness.now = minute.plusSeconds(59);
    harness.tick();
    assertThat(harness.last.events()).isEmpty();
    harness.now = minute.plusSeconds(60);
    harness.tick();
    assertThat(harness.last.events()).hasSize(1);
  }
}
