package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostAddressTest {
  @ParameterizedTest
  @CsvSource({
    "ralab04, ralab04, 22",
    "ralab04:2222, ralab04, 2222",
    "10.0.0.7:22022, 10.0.0.7, 22022",
    "[::1]:2200, ::1, 2200",
    "[fe80::1], fe80::1, 22",
    "::1, ::1, 22"
  })
  void readsAHostAndAnOptionalPort(String text, String host, int port) {
    assertThat(HostAddress.parse(text)).isEqualTo(new HostAddress(text, host, port));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"ralab04:", "ralab04:ssh", "ralab04:0", "ralab04:65536", ":22", "[::1", "[::1]x"})
  void refusesWhatIsNotHostOrHostColonPort(String text) {
    assertThatThrownBy(() -> HostAddress.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"" + text + "\"");
  }

  @Test
  void machineNamesCompareWithoutDomainOrCaseButAddressesStayWhole() {
    assertThat(HostAddress.machineName("RaLab04.cs.example.org")).isEqualTo("ralab04");
    assertThat(HostAddress.machineName("ralab04")).isEqualTo("ralab04");
    assertThat(HostAddress.machineName("10.0.0.7")).isEqualTo("10.0.0.7");
    assertThat(HostAddress.machineName("fe80::1")).isEqualTo("fe80::1");
  }
}
