package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ContactLimitsTest {

  @Test
  void theDefaultTimeoutOfTwentySecondsGivesTheDocumentedTimes() {
    ContactLimits limits = new ContactLimits(Duration.ofSeconds(20));

    assertThat(limits.killJobsAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThat(limits.reconnectAfter()).isEqualTo(Duration.ofSeconds(5));
    assertThat(limits.heartbeatPeriod(Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(2));
    assertThat(limits.killGrace(Duration.ofSeconds(5))).isEqualTo(Duration.ofSeconds(5));
    assertThat(limits.maxBackoff()).isEqualTo(Duration.ofMillis(2500));
  }

  /**
   * Cut off at time 0, the worker's jobs are dead by killJobsAfter + checkPeriod + killGrace; the
   * server heard the worker last one heartbeat period before and gives up a worker timeout later.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 5, 20, 60, 300, 3600})
  void jobsAreDeadBeforeTheServerCouldRunThemElsewhere(int timeoutSeconds) {
    Duration timeout = Duration.ofSeconds(timeoutSeconds);
    ContactLimits limits = new ContactLimits(timeout);
    Duration configuredHeartbeat = Duration.ofSeconds(5);

    Duration jobsDead =
        limits
            .killJobsAfter()
            .plus(limits.checkPeriod())
            .plus(limits.killGrace(ProcessRunner.DEFAULT_KILL_GRACE));
    Duration serverGivesUp = timeout.minus(limits.heartbeatPeriod(configuredHeartbeat));

    assertThat(jobsDead).isLessThan(serverGivesUp);
    assertThat(limits.reconnectAfter())
        .as("a silent connection is replaced before the jobs are given up")
        .isLessThan(limits.killJobsAfter());
    assertThat(limits.maxBackoff())
        .as("a restarted server hears from the worker within the timeout")
        .isLessThan(timeout);
    assertThat(limits.maxBackoff().multipliedBy(4))
        .as("refused connections renew the contact several times before jobs are given up")
        .isLessThanOrEqualTo(limits.killJobsAfter());
  }

  @Test
  void aTimeoutThatIsNotPositiveIsRefused() {
    assertThatThrownBy(() -> new ContactLimits(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
