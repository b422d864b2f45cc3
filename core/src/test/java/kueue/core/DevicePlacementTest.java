package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.model.AttemptRef;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class DevicePlacementTest {

  private static Map<String, List<Integer>> devicesOf(SchedulerHarness harness, long jobId) {
    for (Event.JobOffered offered : harness.events(Event.JobOffered.class)) {
      if (offered.jobId() == jobId) {
        return offered.devices();
      }
    }
    throw new AssertionError("job " + jobId + " was not offered in the last step");
  }

  @Test
  void eachWholeGpuJobGetsItsOwnGpusAndTheRestWait() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().named("ralab04").slots(20).gpus(4));

    List<Long> jobs = harness.submit(aJob().gpus(1), aJob().gpus(2), aJob().gpus(1));

    Set<Integer> seen = new HashSet<>();
    for (long job : jobs) {
      List<Integer> gpus = devicesOf(harness, job).get("gpus");
      for (int gpu : gpus) {
        assertThat(seen.add(gpu)).as("GPU %d given twice", gpu).isTrue();
      }
    }
    assertThat(seen).containsExactlyInAnyOrder(0, 1, 2, 3);
    assertThat(devicesOf(harness, jobs.get(1)).get("gpus")).hasSize(2);

    long waiting = harness.submitOne(aJob().gpus(1));
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(waiting))
        .isEqualTo("needs 1 free GPU; ralab04 has 0 free of 4");

    harness.startCurrent(jobs.get(0));
    harness.endCurrent(jobs.get(0));
    assertThat(harness.offers()).containsKey(waiting);
    assertThat(devicesOf(harness, waiting)).isEqualTo(Map.of("gpus", List.of(0)));
  }

  @Test
  void fractionsPackTwoHalvesOnAGpuBeforeStartingTheNext() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(20).gpus(2));

    List<Long> halves = harness.submit(aJob().gpus(0.5), aJob().gpus(0.5), aJob().gpus(0.5));
    List<Integer> gpus = new ArrayList<>();
    for (long job : halves) {
      gpus.addAll(devicesOf(harness, job).get("gpus"));
    }
    assertThat(gpus).containsExactly(0, 0, 1);

    long quarter = harness.submitOne(aJob().gpus(0.25));
    assertThat(devicesOf(harness, quarter)).isEqualTo(Map.of("gpus", List.of(1)));
    long whole = harness.submitOne(aJob().gpus(1));
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(whole)).contains("has 0 free of 2");
    long half = harness.submitOne(aJob().gpus(0.5));
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(half))
        .isEqualTo("needs 0.5 of a GPU; worker has 0 with room of 2");
    long anotherQuarter = harness.submitOne(aJob().gpus(0.25));
    assertThat(devicesOf(harness, anotherQuarter)).isEqualTo(Map.of("gpus", List.of(1)));
  }

  @Test
  void aGpuUsedOutsideKueueIsSkippedUntilItIsFreeAgain() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker =
        harness.connect(
            aWorker()
                .named("ralab04")
                .gpus(2)
                .gpu(0, 9000, "used by another user: alice, pid 4711"));

    long first = harness.submitOne(aJob().gpus(1));
    assertThat(devicesOf(harness, first)).isEqualTo(Map.of("gpus", List.of(1)));
    long second = harness.submitOne(aJob().gpus(1));
    assertThat(harness.offers()).isEmpty();
    assertThat(harness.pendingReason(second))
        .isEqualTo(
            "needs 1 free GPU; ralab04 has 0 free of 2, GPU 0 is used by another user: alice, pid"
                + " 4711");

    harness.update(worker, aWorker().named("ralab04").gpus(2));
    assertThat(devicesOf(harness, second)).isEqualTo(Map.of("gpus", List.of(0)));
  }

  @Test
  void gpuMemoryRequestsSkipGpusWithTooLittleFree() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().gpus(2).gpu(0, 30_000, null));

    long job = harness.submitOne(aJob().gpus(1).gpuRamMb(20_000));

    assertThat(devicesOf(harness, job)).isEqualTo(Map.of("gpus", List.of(1)));
    long other = harness.submitOne(aJob().gpus(1).gpuRamMb(20_000));
    assertThat(harness.pendingReason(other))
        .startsWith("needs 1 free GPU with at least 20000 MiB free; worker has 0 free of 2");
  }

  @Test
  void gpuJobsGoOnlyToWorkersWithGpusAndCpuJobsPreferWorkersWithout() {
    SchedulerHarness harness = SchedulerHarness.create();
    long plain = harness.connect(aWorker().named("plain").cpus(8));
    long gpuBox = harness.connect(aWorker().named("gpubox").cpus(64).gpus(1));

    long cpuJob = harness.submitOne(aJob().cpus(1));
    assertThat(harness.offers()).containsExactly(entry(cpuJob, plain));
    long gpuJob = harness.submitOne(aJob().gpus(1));
    assertThat(harness.offers()).containsExactly(entry(gpuJob, gpuBox));
    // Its only GPU is taken now: it is as good a place for CPU jobs as any.
    long next = harness.submitOne(aJob().cpus(1));
    assertThat(harness.offers()).containsExactly(entry(next, gpuBox));
  }

  @Test
  void aJobAskingForAResourceNoWorkerHasSaysSo() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().named("plain"));

    long job = harness.submitOne(aJob().gpus(2));

    assertThat(harness.pendingReason(job)).isEqualTo("needs 2 free GPUs; plain has no GPUs");
  }

  @Test
  void declaredResourcesAreAssignedByIndexLikeGpus() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().device("fpga", 0).device("fpga", 1));

    long first = harness.submitOne(aJob().device("fpga", 1));
    long second = harness.submitOne(aJob().device("fpga", 1));
    long third = harness.submitOne(aJob().device("fpga", 1));

    assertThat(harness.view(first).state()).isEqualTo(JobState.OFFERED);
    assertThat(harness.view(second).state()).isEqualTo(JobState.OFFERED);
    assertThat(harness.pendingReason(third)).isEqualTo("needs 1 free fpga; worker has 0 free of 2");
  }

  @Test
  void unacceptableAmountsAreRejectedAtSubmit() {
    SchedulerHarness harness = SchedulerHarness.create();
    for (JobBuilder bad :
        List.of(
            aJob().gpus(1.5),
            aJob().gpus(0),
            aJob().gpus(-1),
            aJob().gpus(0.0001),
            aJob().cpus(1).gpuRamMb(100))) {
      Decisions decisions = harness.submitSpecs(List.of(bad.build()));
      assertThat(decisions.effects()).hasOnlyElementsOfType(Effect.RequestRejected.class);
    }
  }

  @Test
  void theAssignmentOfARestoredJobIsHeldOnceItsWorkerClaimsIt() {
    SchedulerHarness harness = SchedulerHarness.create();
    Instant submitted = SchedulerHarness.START.minusSeconds(60);
    harness.restore(
        List.of(
            new RestoredJob(
                7,
                JobState.RUNNING,
                new Resources(1, 1, 100),
                Map.of(),
                1,
                submitted,
                Map.of("gpus", 1.0),
                0,
                Map.of("gpus", List.of(2)))));

    long worker = harness.connect(aWorker().slots(20).gpus(4), new AttemptRef(7, 1));
    List<Long> jobs = harness.submit(aJob().gpus(1), aJob().gpus(1), aJob().gpus(1));

    Set<Integer> given = new HashSet<>();
    jobs.forEach(job -> given.addAll(devicesOf(harness, job).get("gpus")));
    assertThat(given).containsExactlyInAnyOrder(0, 1, 3);
    assertThat(harness.worker(worker).devices().get(2).jobIds()).containsExactly(7L);
  }

  @Test
  void aKilledJobKeepsItsGpuUntilItsProcessIsGone() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().gpus(1));
    long job = harness.submitOne(aJob().gpus(1));
    harness.startCurrent(job);

    harness.cancel(job, true);
    long next = harness.submitOne(aJob().gpus(1));
    assertThat(harness.offers()).isEmpty();

    harness.end(worker, job, 1, 143);
    assertThat(harness.offers()).containsExactly(entry(next, worker));
  }
}
