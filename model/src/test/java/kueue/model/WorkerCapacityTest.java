package kueue.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WorkerCapacityTest {
  private static final Resources TOTAL = new Resources(10, 8, 16_000);

  @Test
  void loadFromOtherProgramsTakesCpusAwayOnceTheWorkerRunsAJob() {
    WorkerCapacity capacity = new WorkerCapacity(TOTAL, 5, 16_000);

    assertThat(capacity.free(new Resources(1, 1, 100))).isEqualTo(new Resources(9, 3, 15_900));
  }

  @Test
  void reservedCpusCountWhenTheyExceedTheLoad() {
    WorkerCapacity capacity = new WorkerCapacity(TOTAL, 1, 16_000);

    assertThat(capacity.free(new Resources(2, 6, 0)).cpus()).isEqualTo(2);
  }

  @Test
  void anIdleWorkerOffersAllItsCpusWhateverTheLoad() {
    WorkerCapacity capacity = new WorkerCapacity(TOTAL, 12, 16_000);

    assertThat(capacity.free(Resources.NONE).cpus()).isEqualTo(8);
  }

  @Test
  void freeRamIsAtMostWhatTheSystemReportsAvailable() {
    WorkerCapacity capacity = new WorkerCapacity(TOTAL, 0, 3_000);

    assertThat(capacity.free(new Resources(1, 1, 1_000)).ramMb()).isEqualTo(3_000);
    assertThat(capacity.free(new Resources(1, 1, 14_000)).ramMb()).isEqualTo(2_000);
  }

  @Test
  void busynessIsTheLargerOfCpuAndSlotUse() {
    WorkerCapacity capacity = new WorkerCapacity(TOTAL, 4, 16_000);

    assertThat(capacity.busyness(Resources.NONE)).isEqualTo(0.5);
    assertThat(capacity.busyness(new Resources(10, 1, 0))).isEqualTo(1.0);
  }

  private static WorkerCapacity measured(int othersCpus, long othersRamMb, long availableRamMb) {
    return new WorkerCapacity(
        TOTAL,
        othersCpus,
        availableRamMb,
        java.util.List.of(),
        new WorkerUsage(othersCpus, othersRamMb, 0, 0, 5));
  }

  @Test
  void measuredUseOfOtherProgramsAddsToWhatKueueReserves() {
    WorkerCapacity capacity = measured(2, 3_000, 12_000);

    assertThat(capacity.free(new Resources(2, 3, 2_000))).isEqualTo(new Resources(8, 3, 11_000));
  }

  @Test
  void measuredUseTakesCpusFromAnIdleWorkerTooButLeavesItOne() {
    assertThat(measured(8, 0, 16_000).free(Resources.NONE).cpus()).isEqualTo(1);
    assertThat(measured(5, 0, 16_000).free(Resources.NONE).cpus()).isEqualTo(3);
    assertThat(measured(0, 0, 16_000).free(Resources.NONE).cpus()).isEqualTo(8);
    assertThat(measured(8, 0, 16_000).free(new Resources(1, 1, 0)).cpus()).isZero();
  }

  @Test
  void measuredFreeRamIsAtMostWhatTheSystemReportsAvailable() {
    // The job reserved 1 GB but uses 9: the OS has only 6 GB left.
    WorkerCapacity capacity = measured(0, 1_000, 6_000);

    assertThat(capacity.free(new Resources(1, 1, 1_000)).ramMb()).isEqualTo(6_000);
  }

  @Test
  void measuredBusynessAddsOtherProgramsToWhatKueueReserves() {
    assertThat(measured(2, 0, 16_000).busyness(new Resources(1, 2, 0))).isEqualTo(0.5);
  }

  @Test
  void aNegativeMeasurementFreesNothingBeyondTheTotal() {
    WorkerCapacity capacity = measured(-3, -5_000, 16_000);

    assertThat(capacity.free(Resources.NONE)).isEqualTo(new Resources(10, 8, 16_000));
  }
}
