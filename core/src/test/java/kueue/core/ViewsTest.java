package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import kueue.model.ResourceUsage;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

class ViewsTest {

  @Test
  void workersAreListedByIdWithWhatIsReservedAndFreeOnThem() {
    SchedulerHarness harness = SchedulerHarness.create();
    harness.connectAs(7, aWorker().named("seven").slots(4).cpus(8).ramMb(8000));
    harness.advance(Duration.ofSeconds(3));
    harness.connectAs(2, aWorker().named("two").slots(2).cpus(2).ramMb(1000));
    long job = harness.submitOne(aJob().cpus(4).ramMb(2000));

    List<WorkerView> workers = harness.scheduler.workers();

    assertThat(workers).extracting(WorkerView::workerId).containsExactly(2L, 7L);
    WorkerView seven = workers.get(1);
    assertThat(seven.name()).isEqualTo("seven");
    assertThat(seven.jobIds()).containsExactly(job);
    assertThat(seven.reserved()).isEqualTo(new Resources(1, 4, 2000));
    assertThat(seven.free()).isEqualTo(new Resources(3, 4, 6000));
    assertThat(seven.busyness()).isEqualTo(0.5);
    assertThat(seven.connected()).isEqualTo(SchedulerHarness.START);
    assertThat(workers.get(0).connected()).isEqualTo(SchedulerHarness.START.plusSeconds(3));
  }

  @Test
  void resourcesAreListedByNameWithTheirUse() {
    SchedulerHarness harness =
        SchedulerHarness.settings().resource("matlab", 2).resource("genus", 3).harness();
    harness.connect(aWorker());

    harness.submit(aJob().resource("genus", 2).resource("matlab", 1));

    assertThat(harness.scheduler.resources())
        .containsExactly(new ResourceUsage("genus", 2, 3), new ResourceUsage("matlab", 1, 2));
  }
}
