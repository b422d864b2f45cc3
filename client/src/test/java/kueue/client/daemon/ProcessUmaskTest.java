package kueue.client.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProcessUmaskTest {
  @Test
  void readsTheOctalUmaskLineOfAStatusFile() {
    assertThat(ProcessUmask.parse("Name:\tjava\nUmask:\t0077\nState:\tS (sleeping)\n"))
        .isEqualTo(077);
    assertThat(ProcessUmask.parse("Name:\tjava\nUmask:\t0022\n")).isEqualTo(022);
  }

  @Test
  void noUmaskLineOrAnUnreadableOneIsUnknown() {
    assertThat(ProcessUmask.parse("Name:\tjava\nState:\tS\n")).isNull();
    assertThat(ProcessUmask.parse("Umask:\tabc\n")).isNull();
  }

  @Test
  void thisProcessHasOne() {
    assertThat(ProcessUmask.current()).isBetween(0, 0777);
  }
}
