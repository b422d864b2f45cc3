package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TextTableTest {
  private static final String PATH = "/home/ada/experiments/2026/learning-rate-sweep/run-042";
  private static final String COMMAND = "python train.py --lr 0.1 --epochs 100 --seed 42";

  private static TextTable jobTable() {
    return new TextTable(
            List.of(
                TextTable.Column.right("id"),
                TextTable.Column.left("status"),
                TextTable.Column.clipFront("working directory", 12),
                TextTable.Column.clipBack("command", 12)))
        .row("42", "running", PATH, COMMAND);
  }

  @Test
  void printsEverythingWhenItFits() {
    assertThat(jobTable().render(200, false))
        .containsExactly(
            "id  status   working directory" + " ".repeat(PATH.length() - 17) + "  command",
            "42  running  " + PATH + "  " + COMMAND);
  }

  @ParameterizedTest
  @ValueSource(ints = {100, 80, 60, 45})
  void fitsTheWidthByShorteningPathsAtTheFrontAndCommandsAtTheBack(int width) {
    List<String> lines = jobTable().render(width, false);

    assertThat(lines).allSatisfy(line -> assertThat(line.length()).isLessThanOrEqualTo(width));
    assertThat(lines.get(1)).hasSize(width);
    String[] cells = lines.get(1).split("  ");
    String path = cells[2];
    String command = cells[3];
    assertThat(path).startsWith("…").endsWith("run-042");
    assertThat(PATH).endsWith(path.substring(1));
    assertThat(command).startsWith("python").endsWith("…");
    assertThat(COMMAND).startsWith(command.substring(0, command.length() - 1));
  }

  @Test
  void neverClipsBelowTheMinimumWidthsNorAnyHeader() {
    List<String> lines = jobTable().render(10, false);

    assertThat(lines)
        .containsExactly(
            "id  status   working directory  command",
            "42  running  …te-sweep/run-042  python trai…");
  }

  @Test
  void rightAlignsNumbersAndDropsTrailingSpaces() {
    List<String> lines =
        new TextTable(List.of(TextTable.Column.right("id"), TextTable.Column.left("name")))
            .row("7", "a")
            .row("1234", "")
            .render(80, false);

    assertThat(lines).containsExactly("  id  name", "   7  a", "1234");
  }

  @Test
  void replacesControlCharactersSoARowStaysOneLine() {
    List<String> lines =
        new TextTable(List.of(TextTable.Column.left("command")))
            .row("sh -c 'echo a\necho b'")
            .render(80, false);

    assertThat(lines).containsExactly("command", "sh -c 'echo a echo b'");
  }

  @Test
  void colorsCellsOnlyWhenAsked() {
    TextTable table =
        new TextTable(List.of(TextTable.Column.left("status"), TextTable.Column.left("x")))
            .row(List.of(new TextTable.Cell("failed", Style.RED), TextTable.Cell.of("y")));

    assertThat(table.render(80, false)).containsExactly("status  x", "failed  y");
    assertThat(table.render(80, true))
        .containsExactly(
            "\u001b[1mstatus\u001b[0m  \u001b[1mx\u001b[0m", "\u001b[31mfailed\u001b[0m  y");
  }

  @Test
  void clipsSingleValues() {
    assertThat(TextTable.clip("/a/b/c/d", 5, TextTable.Clip.FRONT)).isEqualTo("…/c/d");
    assertThat(TextTable.clip("abcdefgh", 5, TextTable.Clip.BACK)).isEqualTo("abcd…");
    assertThat(TextTable.clip("abc", 5, TextTable.Clip.BACK)).isEqualTo("abc");
    assertThat(TextTable.clip("abc", 1, TextTable.Clip.BACK)).isEqualTo("…");
  }

  @Test
  void measuresWideCharactersAsTwoColumnsAndMarksAsNone() {
    assertThat(DisplayWidth.of("abc")).isEqualTo(3);
    assertThat(DisplayWidth.of("日本語")).isEqualTo(6);
    assertThat(DisplayWidth.of("한국어")).isEqualTo(6);
    assertThat(DisplayWidth.of("\uD83D\uDE00 ok")).isEqualTo(5); // an emoji, a space, two letters
    assertThat(DisplayWidth.of("e\u0301")).isEqualTo(1); // e and a combining acute accent
    assertThat(DisplayWidth.of("ｋｕｅｕｅ")).isEqualTo(10); // full-width letters
  }

  @Test
  void clipsWideCharactersWithoutSplittingThem() {
    assertThat(TextTable.clip("日本語テキスト", 7, TextTable.Clip.BACK)).isEqualTo("日本語…");
    assertThat(TextTable.clip("日本語", 4, TextTable.Clip.BACK)).isEqualTo("日…");
    assertThat(TextTable.clip("/データ/実験", 6, TextTable.Clip.FRONT)).isEqualTo("…/実験");
  }

  @Test
  void rowsWithWideCharactersStayAligned() {
    List<String> lines =
        new TextTable(
                List.of(
                    TextTable.Column.right("id"),
                    TextTable.Column.clipBack("command", 8),
                    TextTable.Column.left("worker")))
            .row("1", "./学習 --名前 実験一", "w1")
            .row("2", "./run --seed 1", "w2")
            .row("3", "echo \uD83D\uDE00\uD83D\uDE00", "w3")
            .render(30, false);

    // The worker column starts at the same terminal column in every row, clipped or not.
    List<Integer> starts =
        lines.subList(1, lines.size()).stream()
            .map(line -> DisplayWidth.of(line.substring(0, line.lastIndexOf(" w") + 1)))
            .toList();
    assertThat(starts).containsOnly(starts.getFirst());
    assertThat(lines).allSatisfy(line -> assertThat(DisplayWidth.of(line)).isLessThanOrEqualTo(30));
  }
}
