package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import kueue.model.WorkerUsage;
import kueue.worker.MachineUsage.CpuTicks;
import kueue.worker.MachineUsage.ProcessTicks;
import kueue.worker.MachineUsage.Sample;
import org.junit.jupiter.api.Test;

/**
 * The arithmetic with made-up counters. A 2-CPU machine at 100 ticks a second: five seconds are
 * 1000 ticks summed over both CPUs, so 500 ticks are one CPU busy for the whole window.
 */
class MachineUsageTest {
  private static final long WORKER = 100;
  private static final long GIB_KB = 1024 * 1024;

  private static Sample sample(long busy, long all, ProcessTicks... kueue) {
    return new Sample(new CpuTicks(busy, all, 2), 16 * GIB_KB, 10 * GIB_KB, List.of(kueue));
  }

  private static ProcessTicks process(long pid, long parent, long own, long reaped) {
    return new ProcessTicks(pid, parent, pid * 10, own, reaped, 0);
  }

  private static WorkerUsage between(Sample earlier, Sample later) {
    return MachineUsage.between(earlier, later, 5);
  }

  @Test
  void aJobBurningOneCpuIsKueuesUseNotOtherPrograms() {
    Sample earlier = sample(10_000, 100_000, process(WORKER, 1, 20, 0), process(200, WORKER, 0, 0));
    // The machine was busy 1.5 CPUs: the job one CPU, the worker a little, the rest someone else.
    Sample later = sample(10_750, 101_000, process(WORKER, 1, 25, 0), process(200, WORKER, 495, 0));

    WorkerUsage usage = between(earlier, later);

    assertThat(usage.kueueCpus()).isCloseTo(1.0, within(1e-9));
    assertThat(usage.othersCpus()).isCloseTo(0.5, within(1e-9));
    assertThat(usage.windowSeconds()).isEqualTo(5);
  }

  @Test
  void anIdleMachineWhoseOnlyLoadIsAJobHasNoOtherUse() {
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0), process(200, WORKER, 1_000, 0));
    Sample later = sample(500, 101_000, process(WORKER, 1, 0, 0), process(200, WORKER, 1_500, 0));

    assertThat(between(earlier, later).othersCpus()).isZero();
  }

  @Test
  void aProcessStartedInTheWindowCountsWhole() {
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0));
    Sample later = sample(300, 101_000, process(WORKER, 1, 0, 0), process(300, WORKER, 300, 0));

    assertThat(between(earlier, later).kueueCpus()).isCloseTo(0.6, within(1e-9));
  }

  @Test
  void aJobThatEndedAndWasWaitedForCountsOnlyItsTimeInTheWindow() {
    // 1000 ticks before the window; it used 300 more and ended; the worker's reaped time got all.
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0), process(200, WORKER, 1_000, 0));
    Sample later = sample(300, 101_000, process(WORKER, 1, 0, 1_300));

    WorkerUsage usage = between(earlier, later);

    assertThat(usage.kueueCpus()).isCloseTo(0.6, within(1e-9));
    assertThat(usage.othersCpus()).isZero();
  }

  @Test
  void aChildThatEndedWithItsParentIsTakenOffOnceThroughTheChain() {
    // Job 200 ran child 201; both ended: 200 waited for 201, the worker for 200.
    Sample earlier =
        sample(
            0,
            100_000,
            process(WORKER, 1, 0, 0),
            process(200, WORKER, 100, 0),
            process(201, 200, 400, 0));
    Sample later = sample(250, 101_000, process(WORKER, 1, 0, 750));

    assertThat(between(earlier, later).kueueCpus()).isCloseTo(0.5, within(1e-9));
  }

  @Test
  void aProcessThatLeftTheTreeTakesItsTimeWithItWhenItEnds() {
    // A daemon of a job, adopted by init (pid 1): nobody of Kueue's waits for it.
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0), process(400, 1, 5_000, 0));
    Sample later = sample(500, 101_000, process(WORKER, 1, 0, 0));

    WorkerUsage usage = between(earlier, later);

    assertThat(usage.kueueCpus()).isZero();
    assertThat(usage.othersCpus()).isCloseTo(1.0, within(1e-9));
  }

  @Test
  void aReusedPidIsANewProcess() {
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0), process(200, WORKER, 1_000, 0));
    ProcessTicks reused = new ProcessTicks(200, WORKER, 999_999, 100, 0, 0);
    Sample later = sample(100, 101_000, process(WORKER, 1, 0, 1_000), reused);

    assertThat(between(earlier, later).kueueCpus()).isCloseTo(0.2, within(1e-9));
  }

  @Test
  void kueueNeverUsesMoreThanTheWholeMachine() {
    // Counters read a moment apart: the processes' times may run ahead of the machine's.
    Sample earlier = sample(0, 100_000, process(WORKER, 1, 0, 0));
    Sample later = sample(400, 101_000, process(WORKER, 1, 450, 0));

    WorkerUsage usage = between(earlier, later);

    assertThat(usage.kueueCpus()).isCloseTo(0.8, within(1e-9));
    assertThat(usage.othersCpus()).isZero();
  }

  @Test
  void otherProgramsRamIsUsedRamMinusKueuesResidentMemory() {
    Sample earlier = sample(0, 100_000);
    Sample later =
        new Sample(
            new CpuTicks(0, 101_000, 2),
            16 * GIB_KB,
            10 * GIB_KB,
            List.of(
                new ProcessTicks(WORKER, 1, 1, 0, 0, GIB_KB / 4),
                new ProcessTicks(200, WORKER, 2, 0, 0, 2 * GIB_KB - GIB_KB / 4)));

    WorkerUsage usage = between(earlier, later);

    assertThat(usage.kueueRamMb()).isEqualTo(2048);
    assertThat(usage.othersRamMb()).isEqualTo(4096);
  }

  @Test
  void noTimeBetweenSamplesMeasuresNothing() {
    Sample same = sample(0, 100_000, process(WORKER, 1, 0, 0));

    assertThat(between(same, same)).isNull();
  }

  @Test
  void theWindowAveragesAShortSpikeOverItsWholeLength() {
    MachineUsage.Window window = new MachineUsage.Window(5_000_000_000L);
    assertThat(window.usage()).isNull();
    // One sample a second; someone else's program keeps both CPUs busy for one second only.
    long busy = 0;
    for (int second = 0; second <= 8; second++) {
      window.add(second * 1_000_000_000L, sample(busy, 100_000 + second * 200L));
      busy += second == 7 ? 200 : 0;
    }

    WorkerUsage usage = window.usage();

    assertThat(usage.windowSeconds()).isEqualTo(5);
    assertThat(usage.othersCpus()).isCloseTo(0.4, within(1e-9));
  }

  @Test
  void theWindowMeasuresFromTheFirstTwoSamplesOn() {
    MachineUsage.Window window = new MachineUsage.Window(5_000_000_000L);
    window.add(0, sample(0, 100_000));
    window.add(1_000_000_000L, sample(200, 100_200));

    assertThat(window.usage().othersCpus()).isCloseTo(2.0, within(1e-9));
    assertThat(window.usage().windowSeconds()).isEqualTo(1);
  }
}
