package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AcceptFailuresTest {
  private static final Instant T0 = Instant.parse("2026-12-06T12:00:00Z");
  private final AcceptFailures failures = new AcceptFailures();

  @Test
  void pausesDoubleFromTenMillisecondsUpToOneSecond() {
    List<Duration> pauses = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      pauses.add(failures.failed("Too many open files", T0).pause());
    }
    assertThat(pauses)
        .extracting(Duration::toMillis)
        .containsExactly(10L, 20L, 40L, 80L, 160L, 320L, 640L, 1000L, 1000L, 1000L);
  }

  @Test
  void aRunOfFailuresLogsItsFirstThenOneSummaryPerMinuteThenTheRecovery() {
    assertThat(failures.failed("Too many open files", T0).logLine())
        .isEqualTo("accept failed: Too many open files; pausing accepts while this lasts");
    List<String> lines = new ArrayList<>();
    // A failure a second for two minutes: two summaries, not 120 lines.
    for (int second = 1; second <= 120; second++) {
      String line = failures.failed("Too many open files", T0.plusSeconds(second)).logLine();
      if (line != null) {
        lines.add(line);
      }
    }
    assertThat(lines)
        .containsExactly(
            "accept still failing: Too many open files (60 failures since the last line)",
            "accept still failing: Too many open files (60 failures since the last line)");
    assertThat(failures.succeeded())
        .isEqualTo("accepting connections again after 121 failed accepts");
  }

  @Test
  void anAcceptAfterFailuresStartsTheNextRunAfresh() {
    failures.failed("Too many open files", T0);
    failures.failed("Too many open files", T0);
    failures.succeeded();

    AcceptFailures.Decision first = failures.failed("Too many open files", T0.plusSeconds(1));
    assertThat(first.pause()).isEqualTo(AcceptFailures.FIRST_PAUSE);
    assertThat(first.logLine()).startsWith("accept failed");
  }

  @Test
  void acceptsWithoutFailuresLogNothing() {
    assertThat(failures.succeeded()).isNull();
    assertThat(failures.succeeded()).isNull();
  }
}
