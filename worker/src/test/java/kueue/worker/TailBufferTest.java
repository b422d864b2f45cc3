package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import kueue.model.CapturedOutput;
import org.junit.jupiter.api.Test;

class TailBufferTest {

  private static void write(TailBuffer buffer, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    buffer.write(bytes, 0, bytes.length);
  }

  @Test
  void outputBelowTheCapIsKeptWhole() {
    TailBuffer buffer = new TailBuffer(100);
    write(buffer, "hello ");
    write(buffer, "world");

    assertThat(buffer.snapshot()).isEqualTo(new CapturedOutput("hello world", 0));
  }

  @Test
  void outputAboveTheCapKeepsTheTailAndCountsWhatWasDropped() {
    TailBuffer buffer = new TailBuffer(10);
    for (int i = 0; i < 100; i++) {
      write(buffer, Integer.toString(i % 10));
    }
    write(buffer, "abc");

    CapturedOutput output = buffer.snapshot();
    assertThat(output.text()).isEqualTo("3456789abc");
    assertThat(output.droppedBytes()).isEqualTo(93);
  }

  @Test
  void aSingleWriteLargerThanTheCapKeepsItsEnd() {
    TailBuffer buffer = new TailBuffer(4);
    write(buffer, "xy");
    write(buffer, "0123456789");

    assertThat(buffer.snapshot()).isEqualTo(new CapturedOutput("6789", 8));
  }

  @Test
  void writesThatWrapAroundTheRingStayInOrder() {
    TailBuffer buffer = new TailBuffer(8);
    write(buffer, "abcdef");
    write(buffer, "ghij");
    write(buffer, "kl");

    assertThat(buffer.snapshot()).isEqualTo(new CapturedOutput("efghijkl", 4));
  }

  @Test
  void aCutThroughAMultiByteCharacterDropsItsRemainingBytes() {
    TailBuffer buffer = new TailBuffer(4);
    write(buffer, "aé€"); // 1 + 2 + 3 bytes: the last 4 bytes start inside "é"

    CapturedOutput output = buffer.snapshot();
    assertThat(output.text()).isEqualTo("€");
    assertThat(output.droppedBytes()).isEqualTo(3);
  }

  @Test
  void aZeroCapKeepsNothingButCountsEverything() {
    TailBuffer buffer = new TailBuffer(0);
    write(buffer, "hello");

    assertThat(buffer.snapshot()).isEqualTo(new CapturedOutput("", 5));
  }
}
