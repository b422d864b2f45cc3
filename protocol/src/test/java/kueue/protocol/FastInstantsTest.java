package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import kueue.model.JobOutcome;
import org.junit.jupiter.api.Test;

class FastInstantsTest {

  @Test
  void writesExactlyWhatInstantToStringWritesAndReadsItBack() {
    SplittableRandom random = new SplittableRandom(5);
    List<Instant> samples =
        new ArrayList<>(
            List.of(
                Instant.EPOCH,
                Instant.parse("0000-01-01T00:00:00Z"),
                Instant.parse("9999-12-31T23:59:59.999999999Z"),
                Instant.parse("2024-02-29T12:00:00.100Z"),
                Instant.parse("1969-12-31T23:59:59.000001Z"),
                Instant.parse("2026-11-25T11:09:55.000000001Z")));
    for (int i = 0; i < 10_000; i++) {
      long seconds = random.nextLong(-62_167_219_200L, 253_402_300_800L);
      int nanos =
          switch (i % 4) {
            case 0 -> 0;
            case 1 -> random.nextInt(1000) * 1_000_000;
            case 2 -> random.nextInt(1_000_000) * 1000;
            default -> random.nextInt(1_000_000_000);
          };
      samples.add(Instant.ofEpochSecond(seconds, nanos));
    }
    for (Instant instant : samples) {
      String text = FastInstants.format(instant);
      assertThat(text).isEqualTo(instant.toString());
      assertThat(FastInstants.parse(text)).isEqualTo(instant);
    }
  }

  @Test
  void otherFormsAreLeftToTheGeneralParser() throws Exception {
    assertThat(FastInstants.parse("2026-02-30T00:00:00Z")).isNull();
    assertThat(FastInstants.parse("2026-11-25T11:09:55+01:00")).isNull();
    assertThat(FastInstants.parse("+12026-11-25T11:09:55Z")).isNull();
    assertThat(FastInstants.format(Instant.parse("+12026-11-25T11:09:55Z")))
        .isEqualTo("+12026-11-25T11:09:55Z");

    // Through the codec, a time with an offset still reads as the same instant.
    String json =
        "{\"type\":\"started\",\"jobId\":3,\"attempt\":1,\"at\":\"2026-11-25T12:09:55+01:00\"}";
    Message decoded = MessageCodec.decode(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertThat(decoded).isEqualTo(new Message.Started(3, 1, Instant.parse("2026-11-25T11:09:55Z")));
  }

  @Test
  void messagesCarryTimesAsIsoTextOnTheWire() throws Exception {
    Instant started = Instant.parse("2026-11-25T11:09:55.123456Z");
    Message.Ended ended =
        new Message.Ended(
            7, 2, new JobOutcome(0, null, null, started, started.plusMillis(5)), null, null);
    byte[] line = MessageCodec.encode(ended);
    assertThat(new String(line, java.nio.charset.StandardCharsets.UTF_8))
        .contains("\"2026-11-25T11:09:55.123456Z\"", "\"2026-11-25T11:09:55.128456Z\"");
    assertThat(MessageCodec.decode(java.util.Arrays.copyOf(line, line.length - 1)))
        .isEqualTo(ended);
  }
}
