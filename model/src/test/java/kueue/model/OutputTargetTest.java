package kueue.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OutputTargetTest {

  @Test
  void placeholdersAreReplacedByJobIdIndexAndBatch() {
    assertThat(OutputTarget.expand("out-%a.txt", 17, 12L, 5L)).isEqualTo("out-5.txt");
    assertThat(OutputTarget.expand("err-%j-%a.txt", 17, 12L, 5L)).isEqualTo("err-17-5.txt");
    assertThat(OutputTarget.expand("logs/%b/%j.log", 17, 12L, 5L)).isEqualTo("logs/12/17.log");
  }

  @Test
  void aDoublePercentIsALiteralPercent() {
    assertThat(OutputTarget.expand("100%%-%j.txt", 3, null, null)).isEqualTo("100%-3.txt");
    assertThat(OutputTarget.expand("%%a", 3, 1L, 2L)).isEqualTo("%a");
  }

  @Test
  void capturedAndDiscardedTargetsStayAsTheyAre() {
    assertThat(OutputTarget.expand(null, 3, 1L, 2L)).isNull();
    assertThat(OutputTarget.expand(OutputTarget.DISCARD, 3, 1L, 2L)).isEqualTo("null");
  }

  @Test
  void unknownOrUnfinishedPlaceholdersAreProblems() {
    assertThat(OutputTarget.problem("out-%x.txt", true)).contains("unknown placeholder %x");
    assertThat(OutputTarget.problem("out-%", true)).contains("lone %");
    assertThat(OutputTarget.problem("50%%.txt", false)).isNull();
    assertThat(OutputTarget.problem("out-%j.txt", false)).isNull();
  }

  @Test
  void indexAndBatchPlaceholdersNeedABatch() {
    assertThat(OutputTarget.problem("out-%a.txt", false)).contains("%a").contains("--array");
    assertThat(OutputTarget.problem("out-%b.txt", false)).contains("%b");
    assertThat(OutputTarget.problem("out-%a-%b.txt", true)).isNull();
  }

  @Test
  void aSpecForOneJobOfABatchHasItsOwnArgvIndexAndFileNames() {
    JobSpec shared =
        JobSpecBuilder.builder()
            .argv(List.of("./run"))
            .cwd("/w")
            .env(Map.of())
            .slots(1)
            .cpus(1)
            .ramMb(10)
            .globalResources(Map.of())
            .stdout("out-%a.txt")
            .stderr("err-%j.txt")
            .build();

    JobSpec job = shared.forJob(40, List.of("/bin/sh", "-c", "echo 3"), 38L, 3L);

    assertThat(job.argv()).containsExactly("/bin/sh", "-c", "echo 3");
    assertThat(job.stdout()).isEqualTo("out-3.txt");
    assertThat(job.stderr()).isEqualTo("err-40.txt");
    assertThat(job.batch()).isEqualTo(38L);
    assertThat(job.arrayIndex()).isEqualTo(3L);
    assertThat(job.env()).isSameAs(shared.env());
  }
}
