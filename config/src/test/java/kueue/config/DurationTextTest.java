package kueue.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DurationTextTest {

  @Test
  void readsUnitsAndSlurmClockForms() {
    assertThat(DurationText.seconds("90s")).isEqualTo(90);
    assertThat(DurationText.seconds("30m")).isEqualTo(1800);
    assertThat(DurationText.seconds("2h")).isEqualTo(7200);
    assertThat(DurationText.seconds("1h30m")).isEqualTo(5400);
    assertThat(DurationText.seconds("1d2h")).isEqualTo(93_600);
    assertThat(DurationText.seconds(" 2H ")).isEqualTo(7200);
    assertThat(DurationText.seconds("01:30:00")).isEqualTo(5400);
    assertThat(DurationText.seconds("2-03:04:05")).isEqualTo(2 * 86_400 + 3 * 3600 + 4 * 60 + 5);
    assertThat(DurationText.seconds("05:30")).isEqualTo(330);
    assertThat(DurationText.seconds("100:00:00")).isEqualTo(360_000);
  }

  @Test
  void refusesAnythingElseSayingWhatIsAccepted() {
    for (String bad :
        new String[] {
          "", "10", "1.5h", "h", "1x", "-5s", "0s", "00:00:00", "1:60", "1-2:3", "1-25:00:00"
        }) {
      assertThatThrownBy(() -> DurationText.seconds(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> DurationText.seconds("10"))
        .hasMessageContaining("90s")
        .hasMessageContaining("HH:MM:SS");
    assertThatThrownBy(() -> DurationText.seconds("99999999999999999999d"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void formatsInTheLargestUnits() {
    assertThat(DurationText.format(90)).isEqualTo("1m30s");
    assertThat(DurationText.format(7200)).isEqualTo("2h");
    assertThat(DurationText.format(93_601)).isEqualTo("1d2h1s");
  }
}
