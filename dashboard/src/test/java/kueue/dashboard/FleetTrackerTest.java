package kueue.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import kueue.model.DeviceState;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerDevice;
import kueue.model.WorkerResources;
import kueue.model.WorkerSummary;
import org.junit.jupiter.api.Test;

class FleetTrackerTest {
  private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

  private static WorkerSummary worker(String name, int reservedCpus, int loadCpus) {
    WorkerCapacity capacity = new WorkerCapacity(new Resources(4, 8, 16_000), loadCpus, 10_000);
    Resources reserved = new Resources(1, reservedCpus, 2_000);
    return new WorkerSummary(
        name.hashCode(),
        name,
        new SystemInfo(name + ".lab", "Linux", "6.1", 8, 3000, 16_000, 10_000, 1, 1, 1, 100),
        capacity,
        reserved,
        capacity.free(reserved),
        1,
        0.25,
        T0,
        T0,
        java.util.List.of());
  }

  private static JobStats finished(long count) {
    return new JobStats(0, 0, 1, count, 0, 0, null, null);
  }

  private static JobSummary running(long id, String worker) {
    return JobSummaryBuilder.builder()
        .id(id)
        .state(JobState.RUNNING)
        .command("./run.sh")
        .worker(worker)
        .build();
  }

  @Test
  void aMeasuredWorkersBarsTakeOthersFromTheMeasurement() {
    WorkerSummary plain = worker("a", 2, 5);
    WorkerCapacity capacity =
        new WorkerCapacity(
            new Resources(4, 8, 16_000),
            1,
            10_000,
            List.of(),
            new kueue.model.WorkerUsage(1.4, 3_000, 2.2, 2_500, 5));
    WorkerSummary measured =
        new WorkerSummary(
            plain.id(),
            plain.name(),
            plain.system(),
            capacity,
            plain.reserved(),
            capacity.free(plain.reserved()),
            plain.runningJobs(),
            plain.busyness(),
            T0,
            T0,
            List.of());

    FleetView.Bar cpu = FleetTracker.cpuBar(measured);
    FleetView.Bar ram = FleetTracker.ramBar(measured);

    assertThat(List.of(cpu.total(), cpu.kueue(), cpu.others())).containsExactly(8.0, 2.0, 1.4);
    assertThat(cpu.free())
        .as("what list-workers shows and the scheduler places with: 1.4 counts as one CPU")
        .isEqualTo(5.0)
        .isEqualTo(measured.free().cpus());
    assertThat(List.of(ram.kueue(), ram.others(), ram.free()))
        .containsExactly(2_000.0, 3_000.0, 10_000.0);
  }

  @Test
  void aMeasuredWorkerRunningNoJobOffersTheCpusThatOthersUseLessThanHalfOf() {
    WorkerCapacity capacity =
        new WorkerCapacity(
            new Resources(4, 2, 16_000),
            0,
            10_000,
            List.of(),
            new kueue.model.WorkerUsage(0.45, 3_000, 0.1, 100, 5));
    WorkerSummary idle =
        new WorkerSummary(
            1,
            "a",
            null,
            capacity,
            Resources.NONE,
            capacity.free(Resources.NONE),
            0,
            0,
            T0,
            T0,
            List.of());

    FleetView.Bar cpu = FleetTracker.cpuBar(idle);

    assertThat(List.of(cpu.total(), cpu.kueue(), cpu.others(), cpu.free()))
        .containsExactly(2.0, 0.0, 0.45, 2.0);
  }

  @Test
  void barsSplitEachResourceIntoKueueOthersAndFree() {
    FleetView.Bar cpu = FleetTracker.cpuBar(worker("a", 2, 5));
    FleetView.Bar ram = FleetTracker.ramBar(worker("a", 2, 5));

    assertThat(List.of(cpu.total(), cpu.kueue(), cpu.others(), cpu.free()))
        .containsExactly(8.0, 2.0, 3.0, 3.0);
    assertThat(List.of(ram.total(), ram.kueue(), ram.others(), ram.free()))
        .as("6,000 MB used, 2,000 of them reserved by Kueue")
        .containsExactly(16_000.0, 2_000.0, 4_000.0, 10_000.0);
    assertThat(FleetTracker.cpuBar(worker("a", 2, 1)).others()).isZero();
  }

  @Test
  void aWorkersGpusAreABarOfTheirOwnSplitIntoKueueOthersAndFree() {
    WorkerSummary plain = worker("a", 2, 5);
    List<DeviceState> devices =
        List.of(
            gpu(0, 1, null),
            gpu(1, 0.5, null),
            gpu(2, 0, "another user's process 4242"),
            gpu(3, 0, null),
            new DeviceState(WorkerDevice.declared("licences", 0), 1, List.of()));
    WorkerSummary withGpus =
        new WorkerSummary(
            plain.id(),
            plain.name(),
            plain.system(),
            plain.capacity(),
            plain.reserved(),
            plain.free(),
            plain.runningJobs(),
            plain.busyness(),
            plain.connected(),
            plain.lastSeen(),
            devices);

    FleetView.Bar gpus = FleetTracker.gpuBar(withGpus);

    assertThat(FleetTracker.bars(plain))
        .extracting(FleetView.Bar::resource)
        .containsExactly("CPU", "RAM");
    assertThat(FleetTracker.bars(withGpus))
        .extracting(FleetView.Bar::resource)
        .containsExactly("CPU", "RAM", "GPU");
    assertThat(List.of(gpus.total(), gpus.kueue(), gpus.others(), gpus.free()))
        .containsExactly(4.0, 1.5, 1.0, 1.5);
  }

  private static DeviceState gpu(int index, double taken, String busy) {
    return new DeviceState(
        new WorkerDevice(
            WorkerResources.GPUS, index, "GPU-" + index, "A100", 40_000, 0, 0, List.of(), busy),
        taken,
        List.of());
  }

  @Test
  void runningJobsGoToTheirWorkerAndAWorkerThatWentAwayIsShownLost() {
    FleetTracker tracker = new FleetTracker();
    FleetView first =
        tracker.update(
            T0,
            List.of(worker("b", 1, 0), worker("a", 1, 0)),
            List.of(running(7, "a")),
            List.of(),
            finished(0));
    FleetView second =
        tracker.update(
            T0.plusSeconds(1), List.of(worker("a", 1, 0)), List.of(), List.of(), finished(0));

    assertThat(first.workers()).extracting(FleetView.WorkerView::name).containsExactly("a", "b");
    assertThat(first.workers().getFirst().jobs())
        .extracting(FleetView.RunningJob::id)
        .containsExactly(7L);
    assertThat(second.workers())
        .extracting(FleetView.WorkerView::name, FleetView.WorkerView::connected)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a", true),
            org.assertj.core.groups.Tuple.tuple("b", false));
    FleetView later =
        tracker.update(
            T0.plus(FleetTracker.LOST_KEPT).plusSeconds(5),
            List.of(worker("a", 1, 0)),
            List.of(),
            List.of(),
            finished(0));
    assertThat(later.workers()).extracting(FleetView.WorkerView::name).containsExactly("a");
  }

  @Test
  void historyCountsJobsFinishedPerMinuteAndAveragesCpuUse() {
    FleetTracker tracker = new FleetTracker();
    tracker.update(T0, List.of(worker("a", 2, 0)), List.of(), List.of(), finished(10));
    tracker.update(
        T0.plusSeconds(30), List.of(worker("a", 6, 0)), List.of(), List.of(), finished(14));
    FleetView view =
        tracker.update(
            T0.plusSeconds(61), List.of(worker("a", 4, 0)), List.of(), List.of(), finished(3));

    assertThat(view.history().minutes())
        .containsExactly(T0.getEpochSecond(), T0.getEpochSecond() + 60);
    assertThat(view.history().finished())
        .as("clean-jobs lowering the count is no negative throughput")
        .containsExactly(4L, 0L);
    assertThat(view.history().cpuUse()).containsExactly(0.5, 0.5);
  }

  @Test
  void anUnreachableServerKeepsTheLastViewWithEveryWorkerLost() {
    FleetTracker tracker = new FleetTracker();
    FleetView last =
        tracker.update(T0, List.of(worker("a", 1, 0)), List.of(), List.of(), finished(0));

    FleetView view = tracker.unreachable(T0.plusSeconds(1), "connection refused", last);

    assertThat(view.serverError()).isEqualTo("connection refused");
    assertThat(view.workers()).extracting(FleetView.WorkerView::connected).containsExactly(false);
    assertThat(view.workers().getFirst().bars())
        .as("a lost worker's size is known, but nothing of it is free")
        .allSatisfy(
            bar -> {
              assertThat(bar.total()).isPositive();
              assertThat(List.of(bar.kueue(), bar.others(), bar.free()))
                  .containsExactly(0.0, 0.0, 0.0);
            });
    assertThat(view.stats()).isEqualTo(last.stats());
  }

  @Test
  void theHistoryBeforeTheStartComesFromTheServerWithTheUseUnknown() {
    FleetTracker tracker = new FleetTracker();
    long now = T0.getEpochSecond();
    tracker.seed(T0.plusSeconds(30), List.of(now - 120, now), List.of(7L, 2L));

    FleetView view =
        tracker.update(
            T0.plusSeconds(40), List.of(worker("a", 4, 0)), List.of(), List.of(), finished(0));

    assertThat(view.history().minutes())
        .hasSize(FleetTracker.HISTORY_MINUTES)
        .last()
        .isEqualTo(now);
    assertThat(
            view.history()
                .finished()
                .subList(FleetTracker.HISTORY_MINUTES - 3, FleetTracker.HISTORY_MINUTES))
        .containsExactly(7L, 0L, 2L);
    assertThat(view.history().cpuUse().getFirst()).isNull();
    assertThat(view.history().cpuUse().getLast()).isEqualTo(0.5);
  }
}
