package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void delaysDoubleUpToTheCapAndStayInTheUpperHalfOfEachStep() {
    Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30), new Random(1));
    long step = 200;
    for (int i = 0; i < 20; i++) {
      long delay = backoff.next().toMillis();
      assertThat(delay).isBetween(step / 2, step);
      step = Math.min(30_000, step * 2);
    }
  }

  @Test
  void delaysAreJittered() {
    Backoff backoff = new Backoff(Duration.ofSeconds(10), Duration.ofSeconds(10), new Random(7));
    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      delays.add(backoff.next().toMillis());
    }
    assertThat(delays).doesNotHaveDuplicates();
  }

  @Test
  void resetStartsAgainFromTheInitialStep() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(30), new Random(3));
    for (int i = 0; i < 10; i++) {
      backoff.next();
    }
    backoff.reset();
    assertThat(backoff.next().toMillis()).isBetween(50L, 100L);
  }

  @Test
  void aCapBelowTheInitialDelayIsRejected() {
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
