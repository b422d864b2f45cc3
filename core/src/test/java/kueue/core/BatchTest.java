package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import kueue.model.BatchEntry;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import org.junit.jupiter.api.Test;

class BatchTest {

  private static JobSpec shared(String stdout, String stderr) {
    return JobSpecBuilder.builder()
        .argv(List.of("./sweep.sh"))
        .cwd("/home/user/sweep")
        .env(Map.of("HOME", "/home/user"))
        .slots(1)
        .cpus(1)
        .ramMb(100)
        .globalResources(Map.of())
        .stdout(stdout)
        .stderr(stderr)
        .build();
  }

  private static List<BatchEntry> array(long... indices) {
    return LongStream.of(indices).mapToObj(index -> new BatchEntry(index, null)).toList();
  }

  private static List<JobSpec> queuedSpecs(Decisions decisions) {
    return decisions.events().stream()
        .filter(Event.JobQueued.class::isInstance)
        .map(event -> ((Event.JobQueued) event).spec())
        .toList();
  }

  @Test
  void aBatchQueuesOneJobPerEntryWithConsecutiveIdsAndTheFirstIdAsBatchId() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.submitOne(aJob());

    Decisions decisions = harness.submitBatch(shared(null, null), array(1, 2, 3));

    assertThat(SchedulerHarness.only(decisions, Effect.SubmitAccepted.class).jobIds())
        .containsExactly(2L, 3L, 4L);
    assertThat(queuedSpecs(decisions)).extracting(JobSpec::batch).containsOnly(2L);
    assertThat(queuedSpecs(decisions)).extracting(JobSpec::arrayIndex).containsExactly(1L, 2L, 3L);
    assertThat(queuedSpecs(decisions))
        .allSatisfy(spec -> assertThat(spec.argv()).containsExactly("./sweep.sh"));
    assertThat(harness.state(3)).isEqualTo(JobState.PENDING);
  }

  @Test
  void entriesWithTheirOwnArgvRunItInsteadOfTheSharedOne() {
    SchedulerHarness harness = SchedulerHarness.create();
    List<BatchEntry> lines =
        List.of(
            new BatchEntry(2, List.of("/bin/sh", "-c", "echo two")),
            new BatchEntry(5, List.of("/bin/sh", "-c", "echo five")));

    Decisions decisions = harness.submitBatch(shared(null, null), lines);

    assertThat(queuedSpecs(decisions))
        .extracting(JobSpec::argv)
        .containsExactly(
            List.of("/bin/sh", "-c", "echo two"), List.of("/bin/sh", "-c", "echo five"));
    assertThat(queuedSpecs(decisions)).extracting(JobSpec::arrayIndex).containsExactly(2L, 5L);
  }

  @Test
  void outputFileNamesGetEachJobsIndexIdAndBatch() {
    SchedulerHarness harness = SchedulerHarness.create();

    Decisions decisions =
        harness.submitBatch(shared("out-%a.txt", "err-%j-%a-%b-100%%.txt"), array(7, 8));

    assertThat(queuedSpecs(decisions))
        .extracting(JobSpec::stdout)
        .containsExactly("out-7.txt", "out-8.txt");
    assertThat(queuedSpecs(decisions))
        .extracting(JobSpec::stderr)
        .containsExactly("err-1-7-1-100%.txt", "err-2-8-1-100%.txt");
  }

  @Test
  void oneBadEntryRejectsTheWholeBatchAndTheErrorNamesItsIndex() {
    SchedulerHarness harness = SchedulerHarness.create();
    List<BatchEntry> lines =
        List.of(
            new BatchEntry(1, List.of("/bin/sh", "-c", "echo fine")),
            new BatchEntry(2, List.of("/bin/sh", "-c", "echo \0broken")),
            new BatchEntry(3, List.of("/bin/sh", "-c", "echo fine too")));

    Decisions decisions = harness.submitBatch(shared(null, null), lines);

    assertThat(decisions.events()).isEmpty();
    assertThat(SchedulerHarness.only(decisions, Effect.RequestRejected.class).reason())
        .startsWith("index 2: ")
        .contains("NUL");
    assertThat(harness.scheduler.activeJobCount()).isZero();
    assertThat(harness.scheduler.nextJobId()).isEqualTo(1);
  }

  @Test
  void aRepeatedIndexOrANegativeOneIsRejected() {
    SchedulerHarness harness = SchedulerHarness.create();

    assertThat(rejection(harness.submitBatch(shared(null, null), array(1, 2, 1))))
        .isEqualTo("index 1 is given twice");
    assertThat(rejection(harness.submitBatch(shared(null, null), array(-1))))
        .isEqualTo("index -1 is negative");
    assertThat(rejection(harness.submitBatch(shared(null, null), List.of())))
        .isEqualTo("no jobs to submit");
    assertThat(harness.scheduler.activeJobCount()).isZero();
  }

  @Test
  void anArgumentTooLongForTheOperatingSystemIsRejected() {
    SchedulerHarness harness = SchedulerHarness.create();
    String huge = "x".repeat(SubmitValidation.MAX_ARGUMENT_BYTES + 1);

    String reason =
        rejection(
            harness.submitBatch(
                shared(null, null), List.of(new BatchEntry(4, List.of("/bin/sh", "-c", huge)))));

    assertThat(reason).startsWith("index 4: argument 2 is longer than");
  }

  @Test
  void anUnknownPlaceholderInAnOutputNameRejectsTheBatch() {
    SchedulerHarness harness = SchedulerHarness.create();

    String reason = rejection(harness.submitBatch(shared("out-%i.txt", null), array(1, 2)));

    assertThat(reason).startsWith("stdout ").contains("%i");
  }

  @Test
  void aSingleJobMayUseTheJobIdInItsFileNamesButNotTheIndex() {
    SchedulerHarness harness = SchedulerHarness.create();
    JobSpec single = shared("out-%j.txt", null);

    Decisions accepted = harness.submitSpecs(List.of(single));
    Decisions rejected = harness.submitSpecs(List.of(shared("out-%a.txt", null)));

    assertThat(queuedSpecs(accepted)).extracting(JobSpec::stdout).containsExactly("out-1.txt");
    assertThat(rejection(rejected)).contains("%a").contains("--array");
  }

  @Test
  void aSingleSubmitCannotJoinABatchByNamingOne() {
    SchedulerHarness harness = SchedulerHarness.create();
    JobSpec claimsBatch =
        JobSpecBuilder.builder()
            .argv(List.of("./x"))
            .cwd("/w")
            .env(Map.of())
            .slots(1)
            .cpus(1)
            .ramMb(100)
            .globalResources(Map.of())
            .batch(1L)
            .arrayIndex(3L)
            .build();

    Decisions decisions = harness.submitSpecs(List.of(claimsBatch));

    assertThat(queuedSpecs(decisions).getFirst().batch()).isNull();
    assertThat(queuedSpecs(decisions).getFirst().arrayIndex()).isNull();
  }

  @Test
  void aHundredThousandJobBatchIsQueuedInOneStepAndPlacedAsSlotsAllow() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connect(aWorker().slots(4));
    List<BatchEntry> entries = new ArrayList<>();
    for (long index = 1; index <= 100_000; index++) {
      entries.add(new BatchEntry(index, null));
    }

    Decisions decisions = harness.submitBatch(shared("out-%a.txt", null), entries);

    assertThat(SchedulerHarness.only(decisions, Effect.SubmitAccepted.class).jobIds())
        .hasSize(100_000);
    assertThat(harness.scheduler.activeJobCount()).isEqualTo(100_000);
    assertThat(harness.offers()).hasSize(4);
    assertThat(queuedSpecs(decisions).getLast().stdout()).isEqualTo("out-100000.txt");
  }

  @Test
  void cancelingManyJobsCancelsPendingOnesAndLeavesRunningOnesWithoutKill() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(1));
    List<Long> ids =
        SchedulerHarness.only(
                harness.submitBatch(shared(null, null), array(1, 2, 3)),
                Effect.SubmitAccepted.class)
            .jobIds();
    harness.start(worker, ids.get(0), 1);
    long ended = harness.submitOne(aJob().cpus(64));
    harness.cancel(ended, false);
    List<Long> asked = new ArrayList<>(ids);
    asked.add(ended);

    Decisions decisions = harness.cancelAll(asked, false);

    assertThat(SchedulerHarness.only(decisions, Effect.CancelJobsAnswered.class))
        .isEqualTo(
            new Effect.CancelJobsAnswered(
                harness.lastRequestId(), List.of(ids.get(1), ids.get(2)), List.of(ids.get(0))));
    assertThat(decisions.events())
        .containsExactly(
            new Event.JobCanceled(ids.get(1), "canceled by user", harness.now),
            new Event.JobCanceled(ids.get(2), "canceled by user", harness.now));
    assertThat(decisions.effects())
        .contains(new Effect.JobsTerminated(List.of(ids.get(1), ids.get(2))));
    assertThat(harness.state(ids.get(0))).isEqualTo(JobState.RUNNING);
  }

  @Test
  void cancelingManyJobsWithKillStopsTheRunningOnesOnTheirWorkers() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(aWorker().slots(2));
    List<Long> ids =
        SchedulerHarness.only(
                harness.submitBatch(shared(null, null), array(1, 2, 3)),
                Effect.SubmitAccepted.class)
            .jobIds();
    harness.start(worker, ids.get(0), 1);

    Decisions decisions = harness.cancelAll(ids, true);

    assertThat(SchedulerHarness.only(decisions, Effect.CancelJobsAnswered.class).canceled())
        .containsExactlyElementsOf(ids);
    assertThat(decisions.effects())
        .contains(
            new Effect.SendKill(worker, ids.get(0), 1, "canceled by user"),
            new Effect.SendKill(worker, ids.get(1), 1, "canceled by user"));
    assertThat(harness.scheduler.activeJobCount()).isZero();
    assertThat(harness.offers()).isEmpty();
  }

  private static String rejection(Decisions decisions) {
    assertThat(decisions.events()).isEmpty();
    return SchedulerHarness.only(decisions, Effect.RequestRejected.class).reason();
  }
}
