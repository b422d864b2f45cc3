package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TerminalInfoTest {
  /** No device to ask for a size: COLUMNS and LINES or the defaults decide it. */
  private static final Path NO_DEVICE = Path.of("/nonexistent/tty");

  private static boolean colours(Map<String, String> env, boolean stdoutIsTerminal) {
    return TerminalInfo.detect(env, stdoutIsTerminal, NO_DEVICE).colors();
  }

  @Test
  void aTerminalGetsColoursUnlessItIsDumbOrNoColorIsSet() {
    assertThat(colours(Map.of("TERM", "xterm-256color"), true)).isTrue();
    assertThat(colours(Map.of("TERM", "dumb"), true)).isFalse();
    assertThat(colours(Map.of("TERM", "xterm", "NO_COLOR", "1"), true)).isFalse();
  }

  @Test
  void aPipeGetsColoursOnlyWhenForcedAndNoColorWinsOverEverything() {
    assertThat(colours(Map.of(), false)).isFalse();
    assertThat(colours(Map.of("CLICOLOR_FORCE", "1"), false)).isTrue();
    assertThat(colours(Map.of("CLICOLOR_FORCE", "1", "TERM", "dumb"), false)).isTrue();
    assertThat(colours(Map.of("CLICOLOR_FORCE", "0"), false)).isFalse();
    assertThat(colours(Map.of("CLICOLOR_FORCE", "1", "NO_COLOR", "1"), false)).isFalse();
  }

  @Test
  void theSizeComesFromColumnsAndLinesOrTheDefaults() {
    TerminalInfo sized =
        TerminalInfo.detect(Map.of("COLUMNS", "80", "LINES", "24"), true, NO_DEVICE);
    assertThat(sized.width()).isEqualTo(80);
    assertThat(sized.height()).isEqualTo(24);
    TerminalInfo unsized = TerminalInfo.detect(Map.of("COLUMNS", "junk"), true, NO_DEVICE);
    assertThat(unsized.width()).isEqualTo(TerminalInfo.DEFAULT_WIDTH);
    assertThat(unsized.height()).isEqualTo(TerminalInfo.DEFAULT_HEIGHT);
  }

  @Test
  void outputThatIsNotATerminalIsNeitherClippedNorCutShortUnlessAskedTo() {
    TerminalInfo piped = TerminalInfo.detect(Map.of(), false, NO_DEVICE);
    assertThat(piped.width()).isEqualTo(TerminalInfo.UNLIMITED);
    assertThat(piped.height()).isEqualTo(TerminalInfo.UNLIMITED);
    TerminalInfo sized =
        TerminalInfo.detect(Map.of("COLUMNS", "80", "LINES", "24"), false, NO_DEVICE);
    assertThat(sized.width()).isEqualTo(80);
    assertThat(sized.height()).isEqualTo(24);
  }
}
