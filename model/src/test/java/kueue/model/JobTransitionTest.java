package kueue.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The table of states and moves is consistent in itself, whatever is added to it. */
class JobTransitionTest {

  @Test
  void everyStateCanBeReachedFromTheInitialOne() {
    Set<JobState> reached = EnumSet.of(JobTransition.initial());
    Deque<JobState> todo = new ArrayDeque<>(reached);
    while (!todo.isEmpty()) {
      JobState from = todo.pop();
      for (JobTransition transition : JobTransition.values()) {
        if (transition.startsFrom(from) && reached.add(transition.to())) {
          todo.push(transition.to());
        }
      }
    }
    assertThat(reached)
        .as("states reachable from %s", JobTransition.initial())
        .containsOnly(JobState.values());
  }

  @Test
  void everyStateThatIsNotTerminalCanEnd() {
    for (JobState state : JobState.values()) {
      if (!state.isTerminal()) {
        assertThat(canReachTerminal(state, EnumSet.noneOf(JobState.class)))
            .as("%s leads to a terminal state", state)
            .isTrue();
      }
    }
  }

  @Test
  void onlyARerunLeavesATerminalState() {
    for (JobTransition transition : JobTransition.values()) {
      for (JobState from : transition.from()) {
        if (transition != JobTransition.RERUN) {
          assertThat(from.isTerminal())
              .as("%s starts from terminal %s", transition, from)
              .isFalse();
        }
      }
    }
    assertThat(JobTransition.RERUN.from()).allMatch(JobState::isTerminal);
    assertThat(JobTransition.RERUN.to()).isEqualTo(JobTransition.initial());
  }

  @Test
  void onlyTheFirstMoveStartsFromNothing() {
    for (JobTransition transition : JobTransition.values()) {
      assertThat(transition.from().isEmpty())
          .as("%s starts from no state", transition)
          .isEqualTo(transition == JobTransition.QUEUED);
    }
    assertThat(JobTransition.initial().isTerminal()).isFalse();
  }

  @Test
  void aJobOnAWorkerHasNotEnded() {
    for (JobState state : JobState.values()) {
      assertThat(state.isOnWorker() && state.isTerminal()).as("%s", state).isFalse();
    }
  }

  @Test
  void everyListCategoryHasAState() {
    Set<JobFilter> categories = EnumSet.noneOf(JobFilter.class);
    for (JobState state : JobState.values()) {
      categories.add(state.category(0));
      categories.add(state.category(1));
      categories.add(state.category(null));
    }
    assertThat(categories).containsOnly(JobFilter.values());
  }

  @Test
  void finishedJobsAreSplitByExitCode() {
    assertThat(JobState.FINISHED.category(0)).isEqualTo(JobFilter.SUCCEEDED);
    assertThat(JobState.FINISHED.category(2)).isEqualTo(JobFilter.FAILED);
    assertThat(JobState.FINISHED.category(null)).isEqualTo(JobFilter.FAILED);
    assertThat(JobState.RUNNING.category(null)).isEqualTo(JobFilter.RUNNING);
  }

  @Test
  void movesAreLookedUpByTheirEnds() {
    assertThat(JobTransition.between(JobState.PENDING, JobState.OFFERED))
        .contains(JobTransition.OFFERED);
    assertThat(JobTransition.isLegal(JobState.FINISHED, JobState.RUNNING)).isFalse();
    assertThat(JobTransition.isLegal(JobState.PENDING, JobState.RUNNING)).isFalse();
  }

  private static boolean canReachTerminal(JobState state, Set<JobState> seen) {
    if (state.isTerminal()) {
      return true;
    }
    if (!seen.add(state)) {
      return false;
    }
    for (JobTransition transition : JobTransition.values()) {
      if (transition.startsFrom(state) && canReachTerminal(transition.to(), seen)) {
        return true;
      }
    }
    return false;
  }
}
