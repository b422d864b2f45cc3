package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import kueue.worker.LeftoverRules.Owner;
import kueue.worker.LeftoverRules.ProcessStat;
import org.junit.jupiter.api.Test;

class LeftoverRulesTest {
  private static final long WORKER_SESSION = 100;
  private static final long ENDED_JOB = 500;
  private static final Set<Long> RUNNING = Set.of(600L, 700L);

  @Test
  void aStatLineIsReadAfterTheCommandNameWhateverItHolds() {
    ProcessStat stat =
        LeftoverRules.parseStat(
            4321, "4321 (odd) name (x)) S 1 4321 4300 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 77");

    assertThat(stat).isEqualTo(new ProcessStat(4321, 1, 4300, 'S'));
    assertThat(stat.ended()).isFalse();
    assertThat(LeftoverRules.parseStat(9, "9 (zombie) Z 1 9 9 0").ended()).isTrue();
    assertThat(LeftoverRules.parseStat(9, "9 (cut")).isNull();
  }

  @Test
  void aProcessInTheEndedJobsSessionIsTheJobs() {
    assertThat(owner(new ProcessStat(501, 1, ENDED_JOB, 'S'))).isEqualTo(Owner.THIS_JOB);
  }

  @Test
  void theWorkersOwnHelpersAndProcessesOfRunningJobsAreNot() {
    assertThat(owner(new ProcessStat(150, 1, WORKER_SESSION, 'S'))).isEqualTo(Owner.OTHER);
    assertThat(owner(new ProcessStat(650, 1, 600, 'S'))).isEqualTo(Owner.OTHER);
  }

  @Test
  void aProcessThatLeftEverySessionIsTheJobsOnlyWhenItsEnvironmentSaysSo() {
    assertThat(owner(new ProcessStat(800, 1, 800, 'S'))).isEqualTo(Owner.ENVIRONMENT_DECIDES);
    assertThat(LeftoverRules.markedFor("PATH=/bin\0KUEUE_JOB_ID=42\0KUEUE_WORKER=w\0", 42))
        .isTrue();
    assertThat(LeftoverRules.markedFor("PATH=/bin\0KUEUE_JOB_ID=421\0", 42)).isFalse();
    assertThat(LeftoverRules.markedFor("X=KUEUE_JOB_ID=42\0", 42)).isFalse();
    assertThat(LeftoverRules.markedFor("", 42)).isFalse();
  }

  @Test
  void onlyEndedChildrenNobodyElseWaitsForAreCollected() {
    assertThat(collectable(new ProcessStat(801, 1, 800, 'Z'))).isTrue();
    assertThat(collectable(new ProcessStat(801, 1, 800, 'S'))).as("alive").isFalse();
    assertThat(collectable(new ProcessStat(150, 1, WORKER_SESSION, 'Z')))
        .as("started by the JDK, which waits for it")
        .isFalse();
    assertThat(collectable(new ProcessStat(600, 1, 600, 'Z')))
        .as("a job's main process, which its watcher waits for")
        .isFalse();
  }

  private static Owner owner(ProcessStat process) {
    return LeftoverRules.owner(process, ENDED_JOB, WORKER_SESSION, RUNNING);
  }

  private static boolean collectable(ProcessStat child) {
    return LeftoverRules.collectable(child, WORKER_SESSION, RUNNING);
  }
}
