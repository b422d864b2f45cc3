package kueue.store;

import static kueue.store.Jobs.at;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import kueue.core.Event;
import kueue.model.JobEvent;
import kueue.model.JobSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new time limit and retry count from update-job, as the stored spec carries them. */
class JobUpdateStoreTest {
  @TempDir Path dataDirectory;
  private SqliteJobStore store;

  @BeforeEach
  void open() {
    store = SqliteJobStore.open(dataDirectory);
    store.persist(List.of(new Event.JobQueued(1, Jobs.aSpec().withPriority(2), at(0))));
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void theNewTimeLimitAndRetriesAreInTheSpecAndTheHistory() {
    store.persist(List.of(new Event.JobUpdated(1, null, 5400L, 3, at(1))));

    JobSpec spec = store.spec(1).orElseThrow();
    assertThat(spec.timeLimitSeconds()).isEqualTo(5400L);
    assertThat(spec.retriesAllowed()).isEqualTo(3);
    assertThat(spec.priority()).as("unchanged").isEqualTo(2);
    assertThat(store.detail(1).orElseThrow().history())
        .extracting(JobEvent::detail)
        .contains("time limit 5400s", "retries 3");
  }

  @Test
  void zeroRemovesTheTimeLimitAndTheRetriesAndNullLeavesThemAlone() {
    store.persist(List.of(new Event.JobUpdated(1, null, 60L, 2, at(1))));

    store.persist(List.of(new Event.JobUpdated(1, 5, null, null, at(2))));
    assertThat(store.spec(1).orElseThrow().timeLimitSeconds()).isEqualTo(60L);
    assertThat(store.spec(1).orElseThrow().retriesAllowed()).isEqualTo(2);

    store.persist(List.of(new Event.JobUpdated(1, null, 0L, 0, at(3))));
    JobSpec spec = store.spec(1).orElseThrow();
    assertThat(spec.timeLimitSeconds()).isNull();
    assertThat(spec.retries()).isNull();
    assertThat(spec.priority()).isEqualTo(5);
    // What list-jobs --json shows.
    assertThat(store.summary(1).orElseThrow().priority()).isEqualTo(5);
  }
}
