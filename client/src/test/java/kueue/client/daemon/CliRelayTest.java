package kueue.client.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class CliRelayTest {
  @Test
  void theDashboardRunsInTheForegroundWhateverConfigOptionPrecedesIt() {
    assertThat(CliRelay.runsInForeground(new String[] {"dashboard", "--port", "8080"})).isTrue();
    assertThat(CliRelay.runsInForeground(new String[] {"-c", "x.toml", "dashboard"})).isTrue();
    assertThat(CliRelay.runsInForeground(new String[] {"--config=x.toml", "dashboard"})).isTrue();
    assertThat(CliRelay.runsInForeground(new String[] {"list-jobs", "dashboard"})).isFalse();
    assertThat(CliRelay.runsInForeground(new String[] {"-c", "dashboard", "list-jobs"})).isFalse();
    assertThat(CliRelay.runsInForeground(new String[] {})).isFalse();
  }
}
