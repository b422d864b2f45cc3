package kueue.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import kueue.model.JobState;
import kueue.model.JobTransition;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;

/** A job's state changes only by the moves of {@link JobTransition}. */
class JobStateMovesTest {
  private static final Shape SHAPE = new Shape(new Resources(1, 1, 0), Map.of());
  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

  @Test
  void aNewJobIsInTheInitialState() {
    assertThat(new Job(1, SHAPE, NOW).state()).isEqualTo(JobTransition.initial());
  }

  @Test
  void everyMoveOfTheTableIsAllowed() {
    for (JobTransition transition : JobTransition.values()) {
      for (JobState from : transition.from()) {
        Job job = from.isTerminal() ? Job.ended(1, SHAPE, NOW, from) : new Job(1, SHAPE, NOW, from);
        job.moveTo(transition.to());
        assertThat(job.state()).as("%s from %s", transition, from).isEqualTo(transition.to());
      }
    }
  }

  @Test
  void everyOtherMoveThrows() {
    for (JobState from : JobState.values()) {
      if (from.isTerminal()) {
        continue;
      }
      for (JobState to : JobState.values()) {
        if (JobTransition.isLegal(from, to)) {
          continue;
        }
        Job job = new Job(7, SHAPE, NOW, from);
        assertThatThrownBy(() -> job.moveTo(to))
            .as("%s -> %s", from, to)
            .isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("job 7 cannot move from " + from + " to " + to);
        assertThat(job.state()).isEqualTo(from);
      }
    }
  }

  @Test
  void anEndedJobCanOnlyBeQueuedAgain() {
    Job job = new Job(3, SHAPE, NOW);
    job.moveTo(JobState.CANCELED);
    for (JobState to : JobState.values()) {
      if (to != JobTransition.RERUN.to()) {
        assertThatThrownBy(() -> job.moveTo(to)).isInstanceOf(IllegalStateException.class);
      }
    }
    job.moveTo(JobState.PENDING);
    assertThat(job.state()).isEqualTo(JobState.PENDING);
  }

  @Test
  void pendingCannotJumpToRunning() {
    Job job = new Job(2, SHAPE, NOW);
    assertThatThrownBy(() -> job.moveTo(JobState.RUNNING))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("job 2 cannot move from PENDING to RUNNING (see JobTransition)");
  }

  @Test
  void onlyJobsThatHaveNotEndedAreRestored() {
    assertThatThrownBy(() -> new Job(4, SHAPE, NOW, JobState.FINISHED))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Job(4, SHAPE, NOW, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Job.ended(4, SHAPE, NOW, JobState.PENDING))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
