package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.util.List;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class PlacementTest {

  @Test
  void aPendingJobIsOfferedToAFittingWorkerWhichReservesItsResourcesAtOnce() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().named("big").slots(4).cpus(8).ramMb(16_000));

    long job = harness.submitOne(aJob().cpus(2).ramMb(512));

    assertThat(harness.last.events())
        .contains(new Event.JobOffered(job, 1, worker, "big", SchedulerHarness.START));
    assertThat(harness.last.effects()).contains(new Effect.SendOffer(worker, job, 1));
    assertThat(harness.view(job))
        .isEqualTo(new ActiveJobView(job, JobState.OFFERED, 1, worker, null));
    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(1, 2, 512));
    assertThat(harness.worker(worker).free()).isEqualTo(new Resources(3, 6, 15_488));
    assertThat(harness.worker(worker).jobIds()).containsExactly(job);
  }

  @Test
  void aJobWaitsWhileNoWorkerIsConnectedAndIsOfferedWhenOneConnects() {
    SchedulerHarness harness = SchedulerHarness.create();
    long job = harness.submitOne(aJob());
    assertThat(harness.offers()).isEmpty();

    long worker = harness.connect(aWorker());

    assertThat(harness.offers()).containsExactly(entry(job, worker));
  }

  @Test
  void theLeastBusyFittingWorkerGetsTheJob() {
    SchedulerHarness harness = SchedulerHarness.create();
    long workstation = harness.connect(aWorker().named("workstation").cpus(8));
    long server = harness.connect(aWorker().named("server").cpus(64));
    harness.update(workstation, aWorker().cpus(8).loadCpus(4));

    long job = harness.submitOne(aJob().cpus(2));

    assertThat(harness.offers()).containsExactly(entry(job, server));
  }

  @Test
  void eachJobGoesToTheWorkerThatIsLeastBusyAtThatMoment() {
    SchedulerHarness harness = SchedulerHarness.create();
    long workstation = harness.connect(aWorker().cpus(4).slots(10));
    long server = harness.connect(aWorker().cpus(8).slots(10));

    List<Long> jobs =
        harness.submit(aJob().cpus(2), aJob().cpus(2), aJob().cpus(2), aJob().cpus(2));

    // Both idle: lowest id. Then the workstation is half busy and the server idle; then the server
    // is a quarter busy; then both are half busy: lowest id again.
    assertThat(harness.offers())
        .containsExactly(
            entry(jobs.get(0), workstation),
            entry(jobs.get(1), server),
            entry(jobs.get(2), server),
            entry(jobs.get(3), workstation));
  }

  @Test
  void equallyBusyWorkersAreChosenByLowestId() {
    SchedulerHarness harness = SchedulerHarness.create();
    long first = harness.connect(aWorker().named("b"));
    harness.connect(aWorker().named("a"));

    long job = harness.submitOne(aJob());

    assertThat(harness.offers()).containsExactly(entry(job, first));
  }

  @Test
  void aLargeJobThatFitsNowhereDoesNotBlockSmallerJobsBehindIt() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().cpus(8));

    List<Long> jobs = harness.submit(aJob().cpus(64), aJob().cpus(2), aJob().cpus(3));

    assertThat(harness.offers())
        .containsExactly(entry(jobs.get(1), worker), entry(jobs.get(2), worker));
    assertThat(harness.state(jobs.get(0))).isEqualTo(JobState.PENDING);
  }

  @Test
  void aJobThatFitsOnlyLaterDoesNotBlockSmallerJobsOfAnotherShape() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().cpus(8).slots(10));
    long running = harness.submitOne(aJob().cpus(6));

    List<Long> jobs =
        harness.submit(aJob().cpus(4), aJob().cpus(1), aJob().cpus(1), aJob().cpus(1));

    assertThat(harness.offers().keySet()).containsExactly(jobs.get(1), jobs.get(2));
    harness.startCurrent(running);
    harness.endCurrent(running);
    assertThat(harness.offers())
        .containsExactly(entry(jobs.get(0), worker), entry(jobs.get(3), worker));
  }

  @Test
  void competingJobsAreOfferedOldestFirstAcrossShapes() {
    SchedulerHarness harness = SchedulerHarness.create();
    List<Long> jobs =
        harness.submit(
            aJob().cpus(1), aJob().cpus(2), aJob().cpus(1), aJob().cpus(2), aJob().cpus(3));

    long worker = harness.connect(aWorker().cpus(6).slots(10));

    assertThat(harness.offers())
        .containsExactly(
            entry(jobs.get(0), worker),
            entry(jobs.get(1), worker),
            entry(jobs.get(2), worker),
            entry(jobs.get(3), worker));
    assertThat(harness.state(jobs.get(4))).isEqualTo(JobState.PENDING);
  }

  @Test
  void aWorkerIsNeverGivenMoreThanItHasFree() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(3).cpus(100).ramMb(1000));

    harness.submit(
        aJob().ramMb(400),
        aJob().ramMb(400),
        aJob().ramMb(400),
        aJob().ramMb(100),
        aJob().ramMb(100));

    assertThat(harness.offers()).hasSize(3);
    assertThat(harness.worker(worker).reserved()).isEqualTo(new Resources(3, 3, 900));
  }

  @Test
  void cpuLoadReportedByTheWorkerCountsAgainstItsFreeCpus() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().cpus(8).loadCpus(7));

    List<Long> jobs = harness.submit(aJob().cpus(1), aJob().cpus(2));

    assertThat(harness.offers()).containsOnlyKeys(jobs.getFirst());
    assertThat(harness.pendingReason(jobs.get(1)))
        .isEqualTo(
            "waiting for free resources on a worker: worker has 0 of 8 CPUs free (Kueue's jobs"
                + " hold 1, load 7)");
  }

  @Test
  void aWorkerRunningNoJobTakesOneWhateverTheLoadFromOtherPrograms() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().cpus(8).loadCpus(20));

    List<Long> jobs = harness.submit(aJob().cpus(4), aJob().cpus(1));

    assertThat(harness.offers()).containsOnlyKeys(jobs.getFirst());
  }

  @Test
  void measuredUseOfOtherProgramsTakesCpusEvenFromAnIdleWorkerButLeavesItOne() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().cpus(4).othersUse(3.7, 0));

    long big = harness.submitOne(aJob().cpus(2));
    long small = harness.submitOne(aJob().cpus(1));

    assertThat(harness.offers()).as("one CPU, for one job at a time").containsOnlyKeys(small);
    harness.startCurrent(small);
    harness.update(worker, aWorker().cpus(4).othersUse(0.4, 0));
    assertThat(harness.offers()).containsKeys(big);
  }

  @Test
  void kueuesOwnJobsAreNotCountedTwiceWhenTheWorkerMeasures() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().cpus(2).othersUse(0, 0));
    long first = harness.submitOne(aJob().cpus(1));
    harness.startCurrent(first);
    // The running job burns its CPU; the worker leaves it out of other programs' use.
    harness.update(worker, aWorker().cpus(2).othersUse(0.1, 0));

    long second = harness.submitOne(aJob().cpus(1));

    assertThat(harness.offers()).containsKey(second);
  }

  @Test
  void aHeartbeatWithMoreFreeCapacityLetsWaitingJobsRun() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().cpus(8).availableRamMb(100));
    long job = harness.submitOne(aJob().ramMb(2000));
    assertThat(harness.offers()).isEmpty();

    harness.update(worker, aWorker().cpus(8).availableRamMb(8000));

    assertThat(harness.offers()).containsExactly(entry(job, worker));
  }

  @Test
  void globalMaxParallelJobsCapsTheJobSlotsOfferedAndRunningAcrossAllWorkers() {
    SchedulerHarness harness = SchedulerHarness.settings().maxParallelJobs(5).harness();
    harness.connect(aWorker().slots(4));
    harness.connect(aWorker().slots(4));

    List<Long> jobs = harness.submit(aJob().slots(2), aJob().slots(2), aJob().slots(2), aJob());

    assertThat(harness.offers().keySet()).containsExactly(jobs.get(0), jobs.get(1), jobs.get(3));
    assertThat(harness.pendingReason(jobs.get(2)))
        .isEqualTo("global_max_parallel_jobs (5) reached");
    harness.startCurrent(jobs.get(0));
    harness.endCurrent(jobs.get(0));
    assertThat(harness.offers().keySet()).containsExactly(jobs.get(2));
  }

  @Test
  void jobsWaitForAGlobalResourceUntilAUnitIsReturned() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 3).harness();
    harness.connect(aWorker().slots(10));

    List<Long> jobs =
        harness.submit(
            aJob().resource("genus", 2), aJob().resource("genus", 2), aJob().resource("genus", 1));

    assertThat(harness.offers().keySet()).containsExactly(jobs.get(0), jobs.get(2));
    assertThat(harness.used("genus")).isEqualTo(3);
    assertThat(harness.pendingReason(jobs.get(1)))
        .isEqualTo("waiting for global resource genus (3 of 3 in use, needs 2)");
    harness.startCurrent(jobs.get(2));
    harness.endCurrent(jobs.get(2));
    assertThat(harness.offers()).isEmpty();
    harness.startCurrent(jobs.get(0));
    harness.endCurrent(jobs.get(0));
    assertThat(harness.offers().keySet()).containsExactly(jobs.get(1));
    assertThat(harness.used("genus")).isEqualTo(2);
  }

  @Test
  void aJobWithoutGlobalResourcesIsNotHeldUpByJobsWaitingForOne() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 1).harness();
    long worker = harness.connect(aWorker());
    harness.submit(aJob().resource("genus", 1));

    List<Long> jobs = harness.submit(aJob().resource("genus", 1), aJob());

    assertThat(harness.offers()).containsExactly(entry(jobs.get(1), worker));
  }

  @Test
  void manyPendingJobsOfOneShapeFillAWorkerInIdOrder() {
    SchedulerHarness harness = SchedulerHarness.create();
    JobBuilder[] many = new JobBuilder[500];
    for (int i = 0; i < many.length; i++) {
      many[i] = aJob().cpus(1);
    }
    List<Long> jobs = harness.submit(many);

    long worker = harness.connect(aWorker().slots(20).cpus(16));

    assertThat(harness.offers().keySet()).containsExactlyElementsOf(jobs.subList(0, 16));
    assertThat(harness.worker(worker).free().cpus()).isZero();
  }

  @Test
  void jobsOfferedSinceTheLastReportCountAgainstTheReportedAvailableRamAndLoad() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker =
        harness.connect(aWorker().slots(10).cpus(8).ramMb(16_000).availableRamMb(5000).loadCpus(4));

    List<Long> jobs =
        harness.submit(
            aJob().cpus(1).ramMb(2000), aJob().cpus(1).ramMb(2000), aJob().cpus(1).ramMb(2000));

    assertThat(harness.offers()).containsOnlyKeys(jobs.get(0), jobs.get(1));
    assertThat(harness.worker(worker).free()).isEqualTo(new Resources(8, 2, 1000));
  }

  @Test
  void aReportThatCrossedAnOfferStillCountsTheOfferedJob() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(10).ramMb(16_000).availableRamMb(3000));
    long offered = harness.submitOne(aJob().ramMb(2000));

    harness.update(worker, aWorker().slots(10).ramMb(16_000).availableRamMb(3000));
    long next = harness.submitOne(aJob().ramMb(2000));

    assertThat(harness.offers()).isEmpty();
    harness.startCurrent(offered);
    harness.update(worker, aWorker().slots(10).ramMb(16_000).availableRamMb(1000));
    assertThat(harness.pendingReason(next))
        .isEqualTo(
            "waiting for free resources on a worker: worker has 1000 of 16000 MB RAM free (Kueue's"
                + " jobs hold 2000 MB, the OS has 1000 MB available)");
    harness.update(worker, aWorker().slots(10).ramMb(16_000).availableRamMb(3000));
    assertThat(harness.offers()).containsOnlyKeys(next);
  }
}
