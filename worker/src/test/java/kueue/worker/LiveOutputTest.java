package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import kueue.model.CapturedOutput;
import kueue.model.OutputPiece;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiveOutputTest {
  private static LiveOutput captured(long capacity) {
    return new LiveOutput(new TailBuffer(capacity), new TailBuffer(capacity), null, null, 0);
  }

  private static void write(LiveOutput output, int stream, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    output.write(stream, bytes, 0, bytes.length);
  }

  @Test
  void interleavesTheStreamsInTheOrderTheyWereWritten() {
    LiveOutput output = captured(1000);
    write(output, LiveOutput.STDOUT, "one\n");
    write(output, LiveOutput.STDERR, "warning\n");
    write(output, LiveOutput.STDOUT, "two\n");
    write(output, LiveOutput.STDOUT, "three\n");
    write(output, LiveOutput.STDERR, "error\n");

    LiveOutput.Read read = output.read(0L, 0L, 1000);

    assertThat(read.pieces())
        .containsExactly(
            new OutputPiece("stdout", 0, "one\n"),
            new OutputPiece("stderr", 0, "warning\n"),
            new OutputPiece("stdout", 4, "two\nthree\n"),
            new OutputPiece("stderr", 8, "error\n"));
    assertThat(read.stdoutNext()).isEqualTo(14);
    assertThat(read.stderrNext()).isEqualTo(14);
    assertThat(read.ended()).isFalse();
  }

  @Test
  void theResultsTailsCarryWhereTheJobSwitchedStreamsWithinWhatIsKept() {
    LiveOutput output = captured(8);
    write(output, LiveOutput.STDOUT, "one\n"); // switch 0: stdout at 0, dropped later
    write(output, LiveOutput.STDERR, "warning\n"); // switch 1: stderr at 0
    write(output, LiveOutput.STDOUT, "two\n"); // switch 2: stdout at 4
    write(output, LiveOutput.STDOUT, "three\n");
    write(output, LiveOutput.STDERR, "x\n"); // switch 3: stderr at 8
    output.end();

    CapturedOutput stdout = output.snapshot(LiveOutput.STDOUT);
    CapturedOutput stderr = output.snapshot(LiveOutput.STDERR);

    assertThat(stdout.text()).isEqualTo("o\nthree\n");
    assertThat(stdout.runs()).as("the run at 0 is no longer kept").containsExactly(2L, 4L);
    assertThat(stderr.runs()).containsExactly(1L, 0L, 3L, 8L);
  }

  @Test
  void aResultWithOneStreamCarriesNoSwitches() {
    LiveOutput output = captured(100);
    write(output, LiveOutput.STDOUT, "only\n");
    output.end();

    assertThat(output.snapshot(LiveOutput.STDOUT).runs()).isNull();
    assertThat(output.snapshot(LiveOutput.STDERR)).isEqualTo(CapturedOutput.EMPTY);
  }

  @Test
  void resumesFromTheOffsetsWithoutRepeatingAnything() {
    LiveOutput output = captured(1000);
    write(output, LiveOutput.STDOUT, "a\n");
    write(output, LiveOutput.STDERR, "b\n");
    write(output, LiveOutput.STDOUT, "c\n");

    assertThat(output.read(2L, 2L, 1000).pieces())
        .containsExactly(new OutputPiece("stdout", 2, "c\n"));
    assertThat(output.read(4L, 2L, 1000).pieces()).isEmpty();
  }

  @Test
  void givesOneStreamAlone() {
    LiveOutput output = captured(1000);
    write(output, LiveOutput.STDOUT, "a\n");
    write(output, LiveOutput.STDERR, "b\n");
    write(output, LiveOutput.STDOUT, "c\n");

    LiveOutput.Read read = output.read(null, 0L, 1000);

    assertThat(read.pieces()).containsExactly(new OutputPiece("stderr", 0, "b\n"));
  }

  @Test
  void aReaderBehindWhatIsKeptSkipsAheadAndTheOffsetShowsHowFar() {
    LiveOutput output = captured(10);
    write(output, LiveOutput.STDOUT, "0123456789abcdef");

    LiveOutput.Read read = output.read(2L, null, 1000);

    assertThat(read.pieces()).containsExactly(new OutputPiece("stdout", 6, "6789abcdef"));
    assertThat(read.stdoutNext()).isEqualTo(16);
  }

  @Test
  void givesAtMostTheBudgetAndStopsBeforeALaterPieceCouldOvertakeAnEarlierOne() {
    LiveOutput output = captured(1000);
    write(output, LiveOutput.STDOUT, "aaaa");
    write(output, LiveOutput.STDERR, "bbbb");

    LiveOutput.Read read = output.read(0L, 0L, 6);

    assertThat(read.pieces())
        .containsExactly(new OutputPiece("stdout", 0, "aaaa"), new OutputPiece("stderr", 0, "bb"));
    assertThat(output.read(4L, 2L, 6).pieces()).containsExactly(new OutputPiece("stderr", 2, "bb"));
  }

  @Test
  void aStreamNotReachedWithinTheBudgetKeepsItsPlaceSoThatItsSkipIsShownLater() {
    LiveOutput output = captured(4);
    write(output, LiveOutput.STDOUT, "aaaaaaaa");
    write(output, LiveOutput.STDERR, "bbbbbbbb");

    LiveOutput.Read first = output.read(0L, 0L, 4);
    assertThat(first.pieces()).containsExactly(new OutputPiece("stdout", 4, "aaaa"));
    assertThat(first.stderrNext()).isZero();
    assertThat(output.read(8L, 0L, 4).pieces())
        .containsExactly(new OutputPiece("stderr", 4, "bbbb"));
  }

  @Test
  void neverCutsACharacterUntilTheProcessHasEnded() {
    LiveOutput output = captured(1000);
    byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
    output.write(LiveOutput.STDOUT, "x".getBytes(StandardCharsets.UTF_8), 0, 1);
    output.write(LiveOutput.STDOUT, euro, 0, 2);

    LiveOutput.Read partial = output.read(0L, null, 1000);
    assertThat(partial.pieces()).containsExactly(new OutputPiece("stdout", 0, "x"));
    assertThat(partial.stdoutNext()).isEqualTo(1);

    output.write(LiveOutput.STDOUT, euro, 2, 1);
    assertThat(output.read(1L, null, 1000).pieces())
        .containsExactly(new OutputPiece("stdout", 1, "€"));
  }

  @Test
  void theEndIsReportedOnceEverythingIsRead() {
    LiveOutput output = captured(1000);
    write(output, LiveOutput.STDOUT, "last\n");
    output.end();

    assertThat(output.read(0L, 0L, 2).ended()).isFalse();
    assertThat(output.read(0L, 0L, 1000).ended()).isTrue();
  }

  @Test
  void wakesAWaiterOnTheNextWriteOnlyAndForgetsWaitersThatGaveUp() {
    LiveOutput output = captured(1000);
    AtomicInteger woken = new AtomicInteger();
    LiveOutput.Waiter gaveUp =
        new LiveOutput.Waiter() {
          @Override
          public void wake() {
            woken.addAndGet(100);
          }

          @Override
          public boolean gone() {
            return true;
          }
        };
    LiveOutput.Waiter waiting =
        new LiveOutput.Waiter() {
          @Override
          public void wake() {
            woken.incrementAndGet();
          }

          @Override
          public boolean gone() {
            return false;
          }
        };
    assertThat(output.awaitNew(0L, 0L, gaveUp)).isTrue();
    assertThat(output.awaitNew(0L, 0L, waiting)).isTrue();

    write(output, LiveOutput.STDERR, "x");
    write(output, LiveOutput.STDERR, "y");

    assertThat(woken).hasValue(1);
    assertThat(output.awaitNew(0L, 0L, waiting)).as("there is something already").isFalse();
  }

  @Test
  void followsAFileTheJobWrites(@TempDir Path directory) throws Exception {
    Path file = directory.resolve("out.txt");
    Files.writeString(file, "from the file\n");
    LiveOutput output = new LiveOutput(null, new TailBuffer(100), file, null, 100);

    assertThat(output.hasFiles()).isTrue();
    assertThat(output.read(0L, 0L, 1000).pieces())
        .isEqualTo(List.of(new OutputPiece("stdout", 0, "from the file\n")));
    assertThat(output.read(5L, null, 1000).pieces())
        .containsExactly(new OutputPiece("stdout", 5, "the file\n"));
  }

  @Test
  void theEndedAttemptKeepsTheEndOfTheFileFromAWholeCharacterOn(@TempDir Path directory)
      throws Exception {
    Path file = directory.resolve("out.txt");
    // "é" is two bytes: the kept 7 bytes would start inside it.
    Files.writeString(file, "0123456é\nabcd\n");
    LiveOutput output = new LiveOutput(null, null, file, null, 7);

    CapturedOutput kept = output.snapshot(LiveOutput.STDOUT);

    assertThat(kept.text()).isEqualTo("\nabcd\n");
    assertThat(kept.droppedBytes()).isEqualTo(9);
    assertThat(output.snapshot(LiveOutput.STDERR)).isEqualTo(CapturedOutput.EMPTY);
  }

  @Test
  void aLinkPutInPlaceOfTheFileIsNotRead(@TempDir Path directory) throws Exception {
    Path secret = Files.writeString(directory.resolve("secret"), "not for the job\n");
    Path file = directory.resolve("out.txt");
    Files.createSymbolicLink(file, secret);

    assertThat(new LiveOutput(null, null, file, null, 100).snapshot(LiveOutput.STDOUT))
        .isEqualTo(CapturedOutput.EMPTY);
  }
}
