package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ServerRestartsTest {

  @Test
  void pausesBetweenTriesDoubleFromATenthOfASecondUpToTwoSeconds() {
    assertThat(ServerRestarts.pauseAfter(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(ServerRestarts.pauseAfter(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(ServerRestarts.pauseAfter(5)).isEqualTo(Duration.ofMillis(1600));
    assertThat(ServerRestarts.pauseAfter(6)).isEqualTo(Duration.ofSeconds(2));
    assertThat(ServerRestarts.pauseAfter(1000)).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void submissionKeysAre128RandomBitsInHex() {
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String key = ServerRestarts.newSubmissionKey();
      assertThat(key).matches("[0-9a-f]{32}");
      keys.add(key);
    }
    assertThat(keys).hasSize(1000);
  }
}
