package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class PendingReasonTest {

  @Test
  void withoutWorkersTheReasonIsThatNoWorkerIsConnected() {
    SchedulerHarness harness = SchedulerHarness.create();

    long job = harness.submitOne(aJob());

    assertThat(harness.pendingReason(job)).isEqualTo("no worker connected");
  }

  @Test
  void aJobTooLargeForEveryWorkerSaysWhatItNeedsAndWhatTheLargestHas() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().cpus(8).ramMb(16_000).slots(2));
    harness.connect(aWorker().cpus(4).ramMb(64_000).slots(4));

    long cpus = harness.submitOne(aJob().cpus(64));
    long ram = harness.submitOne(aJob().ramMb(100_000));
    long slots = harness.submitOne(aJob().slots(5));
    long combined = harness.submitOne(aJob().cpus(6).ramMb(20_000));
    long oneCpu = harness.submitOne(aJob().cpus(9).slots(1));

    assertThat(harness.pendingReason(cpus))
        .isEqualTo("no connected worker is large enough (needs 64 CPUs; largest has 8)");
    assertThat(harness.pendingReason(ram))
        .isEqualTo(
            "no connected worker is large enough (needs 100000 MB RAM; largest has 64000 MB)");
    assertThat(harness.pendingReason(slots))
        .isEqualTo("no connected worker is large enough (needs 5 job slots; largest has 4)");
    assertThat(harness.pendingReason(combined))
        .isEqualTo(
            "no connected worker is large enough (needs 1 job slot, 6 CPUs and 20000 MB RAM on one"
                + " machine)");
    assertThat(harness.pendingReason(oneCpu))
        .isEqualTo("no connected worker is large enough (needs 9 CPUs; largest has 8)");
  }

  @Test
  void aJobThatFitsAWorkerButNotItsFreeResourcesWaitsForFreeResources() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().cpus(8));
    harness.submitOne(aJob().cpus(6));

    long job = harness.submitOne(aJob().cpus(6));

    assertThat(harness.pendingReason(job))
        .isEqualTo(
            "waiting for free resources on a worker: worker has 2 of 8 CPUs free (Kueue's jobs"
                + " hold 6)");
  }

  @Test
  void aJobWaitingForResourcesSaysWhichAreShortOnWhichWorkerAndWhoUsesThem() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().named("alpha").cpus(8).othersUse(6.6, 1_000));
    harness.connect(
        aWorker().named("beta").cpus(8).ramMb(16_000).availableRamMb(9_000).othersUse(0, 6_500));
    harness.connect(aWorker().named("gamma").cpus(2).ramMb(4_000));

    long job = harness.submitOne(aJob().cpus(2).ramMb(9_500));

    assertThat(harness.pendingReason(job))
        .isEqualTo(
            "waiting for free resources on a worker: alpha has 1 of 8 CPUs free (Kueue's jobs hold"
                + " 0, other programs use 6.6); beta has 9000 of 16000 MB RAM free (Kueue's jobs"
                + " hold 0 MB, other programs use 6500 MB); gamma has 4000 of 4000 MB RAM free"
                + " (Kueue's jobs hold 0 MB, the OS has 4000 MB available)");
  }

  @Test
  void aJobWaitingForAGlobalResourceNamesItAndItsUse() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 3).harness();
    harness.connect(aWorker());
    harness.submit(aJob().resource("genus", 3));

    long job = harness.submitOne(aJob().resource("genus", 1));

    assertThat(harness.pendingReason(job))
        .isEqualTo("waiting for global resource genus (3 of 3 in use)");
  }

  @Test
  void aJobHeldBackByTheGlobalCapSaysSo() {
    SchedulerHarness harness = SchedulerHarness.settings().maxParallelJobs(4).harness();
    harness.connect(aWorker());
    harness.submit(aJob().slots(3));

    long tooWide = harness.submitOne(aJob().slots(2));
    assertThat(harness.pendingReason(tooWide))
        .isEqualTo("global_max_parallel_jobs (4) leaves no room for 2 job slots (3 in use)");

    long last = harness.submitOne(aJob());
    assertThat(harness.state(last)).isEqualTo(JobState.OFFERED);
    assertThat(harness.pendingReason(tooWide)).isEqualTo("global_max_parallel_jobs (4) reached");
  }

  @Test
  void aJobWithAResourceThatIsNoLongerConfiguredSaysSo() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.restore(
        List.of(
            new RestoredJob(
                3, JobState.PENDING, new Resources(1, 1, 1), Map.of("old", 1), 0, harness.now)));
    harness.connect(aWorker());

    assertThat(harness.pendingReason(3))
        .isEqualTo("global resource 'old' is not configured any more");
  }

  @Test
  void aPendingJobAskedAboutBeforePlacementIsAboutToBeOffered() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    Decisions out = new Decisions();

    harness.scheduler.handle(new Command.Submit(1, List.of(aJob().build())), harness.now, out);

    assertThat(harness.scheduler.activeJob(1).orElseThrow().pendingReason())
        .isEqualTo("about to be offered to a worker");
  }

  @Test
  void runningJobsHaveNoPendingReasonAndEndedJobsAreNotActive() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker());
    long job = harness.submitOne(aJob());
    harness.startCurrent(job);
    assertThat(harness.view(job).pendingReason()).isNull();

    harness.endCurrent(job);

    assertThat(harness.scheduler.activeJob(job)).isEmpty();
  }
}
