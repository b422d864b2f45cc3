package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.EveryField;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import org.junit.jupiter.api.Test;

class MessageCodecTest {

  private static Message roundTrip(Message message) throws ProtocolException {
    byte[] line = MessageCodec.encode(message);
    assertThat(line[line.length - 1]).isEqualTo((byte) '\n');
    assertThat(new String(line, 0, line.length - 1, StandardCharsets.UTF_8)).doesNotContain("\n");
    return MessageCodec.decode(line);
  }

  @Test
  void carriesEveryFieldOfAJobSpec() throws Exception {
    Message.Offer offer =
        new Message.Offer(
            41, 2, EveryField.jobSpec(), null, Map.of("gpus", List.of(0, 3), "fpga", List.of(1)));
    Message.Submit submit = new Message.Submit(List.of(EveryField.jobSpec()));

    assertThat(roundTrip(offer)).isEqualTo(offer);
    assertThat(roundTrip(submit)).isEqualTo(submit);
  }

  @Test
  void aTypicalOfferIsThisLine() {
    // Written out once: the wire format must not change by accident.
    Message.Offer offer =
        new Message.Offer(
            41,
            1,
            JobSpecBuilder.builder()
                .argv(List.of("true"))
                .cwd("/home/user/work")
                .slots(1)
                .globalResources(Map.of())
                .build(),
            3);

    assertThat(new String(MessageCodec.encode(offer), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"type\":\"offer\",\"jobId\":41,\"attempt\":1,\"spec\":{\"argv\":[\"true\"],"
                + "\"cwd\":\"/home/user/work\",\"env\":null,\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                + "\"globalResources\":{},\"stdout\":null,\"stderr\":null,\"batch\":null,"
                + "\"arrayIndex\":null,\"timeLimitSeconds\":null,\"retries\":null,"
                + "\"retryDelaySeconds\":null,\"submissionKey\":null,\"workerResources\":{},"
                + "\"gpuRamMb\":0,\"priority\":0,\"hold\":false,\"dependencies\":[],"
                + "\"keepChildren\":false,\"umask\":null},"
                + "\"envSlot\":3,\"devices\":null}\n");
  }

  @Test
  void aResultFromAWorkerThatKnowsNoTimeLimitsIsNotTimedOut() throws Exception {
    Message decoded =
        MessageCodec.decode(
            ("{\"type\":\"ended\",\"jobId\":5,\"attempt\":1,\"outcome\":{\"exitCode\":0,"
                    + "\"signal\":null,\"failure\":null,\"started\":null,\"ended\":null},"
                    + "\"stdout\":null,\"stderr\":null}")
                .getBytes(StandardCharsets.UTF_8));

    assertThat(((Message.Ended) decoded).outcome().timedOut()).isFalse();
  }

  @Test
  void aResultKeepsItsTimesToTheNanosecondAndItsOutputWhateverItHolds() throws Exception {
    String weird = "q\"uo\\te \u0000\u001f\t\n\r\u007f é 日本 \uD83D\uDE00 \u2028 end";
    Message.Ended ended =
        new Message.Ended(
            7,
            3,
            new JobOutcome(
                1,
                null,
                null,
                Instant.parse("2026-11-25T11:09:55.123456789Z"),
                Instant.parse("2026-11-25T11:10:00Z")),
            new CapturedOutput(weird, 12),
            CapturedOutput.EMPTY);

    assertThat(roundTrip(ended)).isEqualTo(ended);
    assertThat(new String(MessageCodec.encode(ended), StandardCharsets.UTF_8))
        .contains("\"2026-11-25T11:09:55.123456789Z\"", "\"2026-11-25T11:10:00Z\"");
  }

  @Test
  void unknownFieldsArePassedOver() throws Exception {
    byte[] line =
        "{\"type\":\"result_stored\",\"later\":{\"x\":[1,2]},\"jobId\":5,\"attempt\":2}\n"
            .getBytes(StandardCharsets.UTF_8);

    assertThat(MessageCodec.decode(line)).isEqualTo(new Message.ResultStored(5, 2));
  }

  @Test
  void whatIsNotAMessageIsAProtocolException() {
    List<String> lines =
        List.of(
            "",
            "null",
            "{}",
            "{\"type\":\"no_such_message\"}",
            "{\"type\":\"result_stored\",\"jobId\":\"five\",\"attempt\":2}",
            "{\"type\":\"result_stored\",\"jobId\":5}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"slots\":1}}",
            "[1,2,3]",
            "{\"type\":\"result_stored\",\"jobId\":5,");
    for (String line : lines) {
      assertThatThrownBy(() -> MessageCodec.decode(line.getBytes(StandardCharsets.UTF_8)))
          .as(line)
          .isInstanceOf(ProtocolException.class)
          .hasMessageStartingWith(line.isEmpty() || line.equals("null") ? "" : "invalid message");
    }
  }

  @Test
  void invalidUtf8IsAProtocolException() {
    byte[] line =
        "{\"type\":\"failure\",\"code\":\"x\",\"message\":\"\u00e9\"}\n"
            .getBytes(StandardCharsets.UTF_8);
    byte[] damaged = line.clone();
    for (int i = 0; i < damaged.length; i++) {
      if (damaged[i] == (byte) 0xC3) {
        damaged[i + 1] = (byte) 0x28; // the second byte of é, replaced by one that cannot follow
      }
    }

    assertThatThrownBy(() -> MessageCodec.decode(damaged)).isInstanceOf(ProtocolException.class);
  }

  @Test
  void nestingIsBounded() {
    String deep = "{\"type\":\"submit\",\"jobs\":" + "[".repeat(100) + "]".repeat(100) + "}";

    assertThatThrownBy(() -> MessageCodec.decode(deep.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(ProtocolException.class);
  }
}
