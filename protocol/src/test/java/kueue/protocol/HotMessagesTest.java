package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.stream.Stream;
import kueue.model.CapturedOutput;
import kueue.model.EveryField;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message.Ended;
import kueue.protocol.Message.Offer;
import kueue.protocol.Message.ResultStored;
import kueue.protocol.Message.Started;
import org.junit.jupiter.api.Test;

/**
 * The streaming codec of the per-job messages against databind: the same bytes written, the same
 * record read or the same failure, for every input.
 */
class HotMessagesTest {
  private static final Instant T0 = Instant.parse("2026-11-25T11:09:55Z");
  private static final List<String> LONE_SURROGATES =
      List.of("lone \uD800 high", "lone \uDC00 low", "\uDFFF\uD800", "at the end \uDBFF");
  private static final String WEIRD =
      "q\"uo\\te/ \u0000\u0001\u001f\t\n\r\u007f é ü \u2028\u2029 \uFFFF"
          + " 日本 \uD83D\uDE00 \uDBFF\uDFFF end";

  // ---- writing ----

  @Test
  void writesWhatDatabindWritesForEverySample() throws Exception {
    for (Message message : samples()) {
      assertSameLineAsDatabind(message);
    }
    for (Message message : unreadableSamples()) {
      assertSameLineAsDatabind(message);
    }
  }

  @Test
  void writesWhatDatabindWritesForRandomMessages() throws Exception {
    Random random = new Random(20261125);
    for (int i = 0; i < 3000; i++) {
      assertSameLineAsDatabind(randomMessage(random));
    }
  }

  @Test
  void carriesEveryFieldOfAJobSpecAsDatabindDoes() throws Exception {
    // Databind follows the record; the hand-written codec must be told about each new field.
    Offer offer = new Offer(41, 2, EveryField.jobSpec(), null);
    assertSameLineAsDatabind(offer);
    assertReadBack(offer);
    assertThat(MessageCodec.decode(MessageCodec.encode(offer))).isEqualTo(offer);
  }

  @Test
  void aTypicalOfferIsTheLineDatabindWrote() {
    // Written out once so that a change on both paths at once does not go unnoticed.
    Offer offer =
        new Offer(
            41,
            1,
            JobSpecBuilder.builder()
                .argv(List.of("true"))
                .cwd("/home/user/work")
                .slots(1)
                .cpus(0)
                .ramMb(0)
                .globalResources(Map.of())
                .build(),
            3);
    assertThat(new String(MessageCodec.encode(offer), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"type\":\"offer\",\"jobId\":41,\"attempt\":1,\"spec\":{\"argv\":[\"true\"],"
                + "\"cwd\":\"/home/user/work\",\"env\":null,\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                + "\"globalResources\":{},\"stdout\":null,\"stderr\":null,\"batch\":null,"
                + "\"arrayIndex\":null},\"envSlot\":3}\n");
  }

  // ---- reading what was written ----

  @Test
  void readsEverySampleBackWithoutDatabind() throws Exception {
    for (Message message : samples()) {
      assertReadBack(message);
    }
  }

  @Test
  void readsRandomMessagesBack() throws Exception {
    Random random = new Random(7);
    for (int i = 0; i < 3000; i++) {
      assertReadBack(randomMessage(random));
    }
  }

  @Test
  void whatDatabindCannotReadBackTheCodecCannotEither() {
    for (Message message : unreadableSamples()) {
      byte[] line = databindLine(message);
      assertThatThrownBy(() -> MessageCodec.decode(line)).isInstanceOf(ProtocolException.class);
      assertSameAnswerAsDatabind(line, message.toString());
    }
  }

  @Test
  void readsFieldsInAnyOrderAndPassesOverUnknownOnes() throws Exception {
    Random random = new Random(42);
    List<JsonNode> junk =
        Stream.of(
                "null",
                "true",
                "-1.5e300",
                "123456789012345678901234567890",
                "\"x\\\"y\"",
                "[]",
                "{}",
                "[1,[2,[3,{\"a\":[{},{\"b\":null}]}]]]",
                "{\"type\":\"offer\",\"jobId\":{\"x\":[1,2]}}")
            .map(HotMessagesTest::tree)
            .toList();
    for (int i = 0; i < 2000; i++) {
      Message message = randomMessage(random);
      if (!withinFastInstants(message)) {
        continue;
      }
      ObjectNode shuffled = (ObjectNode) shuffle(tree(databindLine(message)), junk, random);
      // The type stays first; everything after it, nested objects included, is shuffled.
      ObjectNode line = MessageCodec.mapper().createObjectNode();
      line.set("type", shuffled.get("type"));
      shuffled.remove("type");
      line.setAll(shuffled);
      byte[] bytes = MessageCodec.mapper().writeValueAsBytes(line);
      assertThat(HotMessages.decode(bytes)).as(line.toString()).isEqualTo(message);
      assertThat(MessageCodec.decodeWithDatabind(bytes)).as(line.toString()).isEqualTo(message);
    }
  }

  // ---- reading hand-written input ----

  @Test
  void readsValidVariationsWithoutDatabind() throws Exception {
    String spec = "\"spec\":{\"argv\":[\"a\"],\"slots\":1,\"cpus\":0,\"ramMb\":0}";
    List<String> inputs =
        List.of(
            "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"result_stored\",\"attempt\":2,\"jobId\":1}",
            "  {\"type\" : \"result_stored\" ,\n\"attempt\":2,\t\"jobId\":-0}  ",
            "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2} trailing garbage {[",
            "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2}}",
            "{\"type\":\"result_stored\",\"jobId\":9223372036854775807,\"attempt\":-2147483648}",
            "{\"type\":\"result_stored\",\"jobId\":-9223372036854775808,\"attempt\":2147483647}",
            "{\"type\":\"result_stored\",\"x\":{\"jobId\":5},\"jobId\":1,\"y\":[\"attempt\",7],\"attempt\":2}",
            "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"type\":\"offer\"}",
            "{\"type\":\"result_stored\",\"type\":{\"a\":1},\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"result_stored\",\"x\":"
                + "[".repeat(62)
                + "{}"
                + "]".repeat(62)
                + ",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"result_stored\",\"x\":1e999999,\"z\":"
                + "9".repeat(1000)
                + ",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":null,\"envSlot\":null}",
            "{\"type\":\"offer\",\"envSlot\":7,\"attempt\":2," + spec + ",\"jobId\":1}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"ramMb\":5,\"env\":{},\"cpus\":2,"
                + "\"argv\":[],\"slots\":1,\"globalResources\":null,\"cwd\":null,\"batch\":null,\"arrayIndex\":3}}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"a\",\"\\u0000\\ud83d\\ude00\\\"\"],"
                + "\"slots\":1,\"cpus\":0,\"ramMb\":0,\"env\":{\"A\":\"1\",\"B\":\"\",\"A\":\"2\"},"
                + "\"globalResources\":{\"lic\":-3,\"lic\":4},\"unknown\":{\"argv\":null}}}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,"
                + "\"ramMb\":0,\"env\":{\"A\":null,\"A\":\"2\"}}}",
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,"
                + "\"ramMb\":0,\"type\":\"x\"}}",
            // names of the records' other methods are no properties either
            "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"demand\":{\"slots\":9},\"argv\":[],"
                + "\"commandLine\":\"x\",\"forJob\":1,\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
            "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"succeeded\":true,\"shellExitCode\":3},"
                + "\"stdout\":{\"truncated\":true,\"EMPTY\":null,\"droppedBytes\":0}}",
            "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":null}",
            "{\"type\":\"started\",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"started\",\"at\":\"0000-01-01T00:00:00.000000001Z\",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"9999-12-31T23:59:59.123Z\"}",
            "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2}",
            "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{},\"stdout\":{\"droppedBytes\":3},"
                + "\"stderr\":{\"text\":null,\"droppedBytes\":-1}}",
            "{\"type\":\"ended\",\"stderr\":null,\"stdout\":null,\"outcome\":{\"ended\":\"2026-11-25T11:09:55.5Z\","
                + "\"failure\":\"\",\"signal\":9,\"exitCode\":null,\"x\":[]},\"attempt\":2,\"jobId\":1}");
    for (String input : inputs) {
      byte[] bytes = input.getBytes(StandardCharsets.UTF_8);
      Message fast = HotMessages.decode(bytes);
      assertThat(fast).as(input).isNotNull();
      assertThat(fast).as(input).isEqualTo(MessageCodec.decodeWithDatabind(bytes));
    }
  }

  @Test
  void everyOtherInputGetsDatabindsAnswer() {
    List<String> inputs =
        new ArrayList<>(
            List.of(
                // missing or null int and long components: databind fails
                "{\"type\":\"result_stored\"}",
                "{\"type\":\"result_stored\",\"jobId\":1}",
                "{\"type\":\"result_stored\",\"jobId\":null,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":null}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[]}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":null,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":{\"text\":\"x\"}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stderr\":{\"text\":\"x\",\"droppedBytes\":null}}",
                // the constructors' own checks
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":null,\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"a\",null],\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                    + "\"env\":{\"A\":null}}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                    + "\"globalResources\":{\"lic\":null}}}",
                // tokens databind coerces, or not
                "{\"type\":\"result_stored\",\"jobId\":\"12\",\"attempt\":\"3\"}",
                "{\"type\":\"result_stored\",\"jobId\":\"\",\"attempt\":\" 3\"}",
                "{\"type\":\"result_stored\",\"jobId\":12.7,\"attempt\":1}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2.0}",
                "{\"type\":\"result_stored\",\"jobId\":1e3,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":true,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":[1],\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":{},\"attempt\":2}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"envSlot\":\"4\"}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"envSlot\":4.5}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":\"\"}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":[]}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":\"a\",\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[1,true,2.5],\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[[]],\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"cwd\":5,\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"env\":{\"A\":1},\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"env\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                    + "\"globalResources\":{\"lic\":\"2\"}}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                    + "\"globalResources\":{\"lic\":3000000000}}}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[],\"slots\":1,\"cpus\":0,\"ramMb\":0,"
                    + "\"batch\":\"5\"}}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"\"}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":12345}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":12345.5}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"2026-11-25T12:09:55+01:00\"}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"+12026-11-25T11:09:55Z\"}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"2026-02-30T00:00:00Z\"}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"2026-11-25\"}",
                "{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"at\":\"nonsense\"}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":[]}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":\"\"}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"exitCode\":\"0\"}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"exitCode\":true}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":{\"text\":7,\"droppedBytes\":0}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":\"x\"}",
                // numbers out of range
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2147483648}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":-2147483649}",
                "{\"type\":\"result_stored\",\"jobId\":9223372036854775808,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":-9223372036854775809,\"attempt\":2}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"signal\":2147483648}}",
                // duplicate fields: databind keeps the last before the record is complete, fails
                // after
                "{\"type\":\"result_stored\",\"jobId\":1,\"jobId\":5,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"jobId\":5}",
                "{\"type\":\"started\",\"jobId\":1,\"at\":null,\"at\":\"2026-11-25T11:09:55Z\",\"attempt\":2}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":null,\"spec\":null}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"a\"],\"argv\":[\"b\"],\"slots\":1,"
                    + "\"cpus\":0,\"ramMb\":0}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"exitCode\":0,\"exitCode\":1}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"outcome\":{\"exitCode\":0,\"signal\":null,"
                    + "\"failure\":null,\"started\":null,\"ended\":null,\"exitCode\":1}}",
                // the type not first, not a known name, not a string, not there
                "{\"jobId\":1,\"type\":\"result_stored\",\"attempt\":2}",
                "{\"jobId\":1,\"attempt\":2,\"type\":\"started\",\"at\":null}",
                "{\"type\":\"Result_stored\",\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"kill\",\"jobId\":1,\"attempt\":2,\"reason\":\"x\"}",
                "{\"type\":\"nonsense\",\"jobId\":1,\"attempt\":2}",
                "{\"type\":null,\"jobId\":1,\"attempt\":2}",
                "{\"type\":null,\"jobId\":1,\"attempt\":2,\"type\":\"result_stored\"}",
                "{\"type\":5,\"jobId\":1,\"attempt\":2}",
                "{\"type\":[\"result_stored\"],\"jobId\":1,\"attempt\":2}",
                "{\"jobId\":1,\"attempt\":2}",
                "{}",
                // not an object, or not JSON
                "",
                " ",
                "null",
                "[]",
                "[{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2}]",
                "\"offer\"",
                "5",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\"",
                "{\"type\":\"result_stored\",\"jobId\":01,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":+1,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":NaN}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":\"\\q\"}",
                "{\"type\":\"result_stored\",\"x\":\"\\q\",\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"result_stored\",'jobId':1,\"attempt\":2}",
                "{\"type\":\"result_stored\",jobId:1,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2 /* comment */}",
                "{\"type\":\"result_stored\",\"x\":[1,2,\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"x\":{\"a\":1]},\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"a\"",
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"a\"],\"slots\":1,\"cpus\":0,\"ramMb\":0}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":{\"text\":\"unterminated}}",
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":{\"text\":\"raw\u0001control\",\"droppedBytes\":0}}",
                // nesting beyond the limit of 64
                "{\"type\":\"result_stored\",\"x\":"
                    + "[".repeat(63)
                    + "]".repeat(63)
                    + ",\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":"
                    + "[".repeat(63)
                    + "]".repeat(63)
                    + "}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":"
                    + "{\"a\":".repeat(70)
                    + "1"
                    + "}".repeat(70)
                    + "}",
                // numbers longer than the limit of 1000 digits
                "{\"type\":\"result_stored\",\"x\":"
                    + "9".repeat(1001)
                    + ",\"jobId\":1,\"attempt\":2}",
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":"
                    + "1".repeat(1001)
                    + ".5}"));
    for (String input : inputs) {
      assertSameAnswerAsDatabind(input.getBytes(StandardCharsets.UTF_8), input);
    }
  }

  @Test
  void invalidUtf8IsRejectedWhereverItIs() {
    byte[] invalid = {(byte) 0xC3, (byte) 0x28};
    List<byte[]> inputs =
        List.of(
            bytes("{\"type\":\"result_stored\",\"x\":\"", invalid, "\",\"jobId\":1,\"attempt\":2}"),
            bytes(
                "{\"type\":\"result_stored\",\"x\":[\"", invalid, "\"],\"jobId\":1,\"attempt\":2}"),
            bytes(
                "{\"type\":\"result_stored\",\"jobId\":1,\"attempt\":2,\"x\":{\"a\":\"",
                invalid,
                "\"}}"),
            bytes(
                "{\"type\":\"offer\",\"jobId\":1,\"attempt\":2,\"spec\":{\"argv\":[\"",
                invalid,
                "\"],\"slots\":1,\"cpus\":0,\"ramMb\":0}}"),
            bytes("{\"type\":\"started\",\"jobId\":1,\"attempt\":2,\"", invalid, "\":1}"),
            bytes(
                "{\"type\":\"ended\",\"jobId\":1,\"attempt\":2,\"stdout\":{\"text\":\"",
                invalid,
                "\",\"droppedBytes\":0}}"));
    for (byte[] input : inputs) {
      String shown = new String(input, StandardCharsets.ISO_8859_1);
      assertThat(HotMessages.decode(input)).as(shown).isNull();
      assertThatThrownBy(() -> MessageCodec.decode(input))
          .as(shown)
          .isInstanceOf(ProtocolException.class);
      assertSameAnswerAsDatabind(input, shown);
    }
  }

  @Test
  void damagedLinesGetDatabindsAnswer() throws Exception {
    Random random = new Random(99);
    String alphabet = "{}[]\",:0123456789-.eEtrufalsn \\x";
    for (int i = 0; i < 20_000; i++) {
      byte[] line = databindLine(randomMessage(random));
      int edits = 1 + random.nextInt(3);
      for (int e = 0; e < edits; e++) {
        int at = random.nextInt(line.length);
        byte b = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
        line =
            switch (random.nextInt(3)) {
              case 0 -> remove(line, at);
              case 1 -> insert(line, at, b);
              default -> replace(line, at, b);
            };
      }
      assertSameAnswerAsDatabind(line, new String(line, StandardCharsets.UTF_8));
    }
  }

  // ---- helpers ----

  private static void assertSameLineAsDatabind(Message message) {
    byte[] expected = MessageCodec.encodeWithDatabind(message);
    byte[] fast = HotMessages.encode(message);
    assertThat(fast).as("%s", message).isNotNull();
    assertThat(new String(fast, StandardCharsets.UTF_8))
        .isEqualTo(new String(expected, StandardCharsets.UTF_8));
    assertThat(fast).isEqualTo(expected);
    assertThat(MessageCodec.encode(message)).isEqualTo(expected);
  }

  private static void assertReadBack(Message message) throws ProtocolException {
    byte[] line = databindLine(message);
    assertThat(MessageCodec.decodeWithDatabind(line)).isEqualTo(message);
    assertThat(MessageCodec.decode(line)).isEqualTo(message);
    Message fast = HotMessages.decode(line);
    if (withinFastInstants(message)) {
      assertThat(fast).as("%s", message).isEqualTo(message);
    } else {
      assertThat(fast).as("%s", message).isNull(); // such instants go to the JavaTimeModule
    }
  }

  /**
   * The fast path either leaves the line to databind or reads exactly what databind reads, and the
   * codec answers as databind does: the same record, or a ProtocolException with the same message.
   */
  private static void assertSameAnswerAsDatabind(byte[] input, String shown) {
    Object databind = decodeOutcome(() -> MessageCodec.decodeWithDatabind(input));
    Object codec = decodeOutcome(() -> MessageCodec.decode(input));
    assertThat(codec).as(shown).isEqualTo(databind);
    Message fast = HotMessages.decode(input);
    if (fast != null) {
      assertThat(databind).as(shown).isEqualTo(fast);
    }
  }

  private interface Decoding {
    Message run() throws ProtocolException;
  }

  /** The record, or the failure's class and message. */
  private static Object decodeOutcome(Decoding decoding) {
    try {
      return decoding.run();
    } catch (ProtocolException e) {
      return "ProtocolException: " + e.getMessage();
    }
  }

  /** databind's line without the newline, as FrameReader hands it to decode. */
  private static byte[] databindLine(Message message) {
    byte[] line = MessageCodec.encodeWithDatabind(message);
    return Arrays.copyOf(line, line.length - 1);
  }

  private static boolean withinFastInstants(Message message) {
    List<Instant> instants =
        switch (message) {
          case Started started -> Collections.singletonList(started.at());
          case Ended ended when ended.outcome() != null ->
              Arrays.asList(ended.outcome().started(), ended.outcome().ended());
          default -> List.of();
        };
    return instants.stream()
        .filter(Objects::nonNull)
        .allMatch(instant -> FastInstants.parse(instant.toString()) != null);
  }

  private static JsonNode tree(String json) {
    try {
      return MessageCodec.mapper().readTree(json);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JsonNode tree(byte[] json) {
    return tree(new String(json, StandardCharsets.UTF_8));
  }

  /** The same objects with their fields shuffled and unknown fields added at random places. */
  private static JsonNode shuffle(JsonNode node, List<JsonNode> junk, Random random) {
    if (!node.isObject()) {
      return node;
    }
    List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
    node.properties()
        .forEach(
            field ->
                fields.add(
                    Map.entry(
                        field.getKey(),
                        field.getKey().equals("env") || field.getKey().equals("globalResources")
                            ? field.getValue()
                            : shuffle(field.getValue(), junk, random))));
    int extra = random.nextInt(3);
    for (int i = 0; i < extra; i++) {
      fields.add(Map.entry("unknown" + i, junk.get(random.nextInt(junk.size()))));
    }
    Collections.shuffle(fields, random);
    ObjectNode shuffled = MessageCodec.mapper().createObjectNode();
    fields.forEach(field -> shuffled.set(field.getKey(), field.getValue()));
    return shuffled;
  }

  private static byte[] bytes(String before, byte[] middle, String after) {
    byte[] head = before.getBytes(StandardCharsets.UTF_8);
    byte[] tail = after.getBytes(StandardCharsets.UTF_8);
    byte[] all = Arrays.copyOf(head, head.length + middle.length + tail.length);
    System.arraycopy(middle, 0, all, head.length, middle.length);
    System.arraycopy(tail, 0, all, head.length + middle.length, tail.length);
    return all;
  }

  private static byte[] remove(byte[] line, int at) {
    byte[] shorter = new byte[line.length - 1];
    System.arraycopy(line, 0, shorter, 0, at);
    System.arraycopy(line, at + 1, shorter, at, line.length - at - 1);
    return shorter;
  }

  private static byte[] insert(byte[] line, int at, byte b) {
    byte[] longer = new byte[line.length + 1];
    System.arraycopy(line, 0, longer, 0, at);
    longer[at] = b;
    System.arraycopy(line, at, longer, at + 1, line.length - at);
    return longer;
  }

  private static byte[] replace(byte[] line, int at, byte b) {
    byte[] copy = line.clone();
    copy[at] = b;
    return copy;
  }

  // ---- sample messages ----

  private static List<Message> samples() {
    Map<String, String> largeEnv = new LinkedHashMap<>();
    Map<String, Integer> manyResources = new HashMap<>();
    List<String> longArgv = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      largeEnv.put("VARIABLE_" + i, "/opt/module-" + i + "/bin:" + WEIRD);
      manyResources.put("license-" + i, i % 7 == 0 ? Integer.MAX_VALUE : i - 250);
      longArgv.add(i % 10 == 0 ? "" : "arg" + i);
    }
    JobSpec typical =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/home/user/work")
            .slots(1)
            .cpus(0)
            .ramMb(0)
            .globalResources(Map.of())
            .build();
    JobSpec full =
        JobSpecBuilder.builder()
            .argv(List.of("sh", "-c", "echo \"$HOME\" \\ done"))
            .cwd("/home/ada/sweep")
            .env(Map.of("PATH", "/usr/bin:/bin", "EMPTY", "", WEIRD, WEIRD))
            .slots(4)
            .cpus(2)
            .ramMb(1024)
            .globalResources(Map.of("gpu", 1, "license", 3))
            .stdout("out-%j.txt")
            .stderr("err-%a.txt")
            .batch(17L)
            .arrayIndex(3L)
            .build();
    JobSpec extremes =
        JobSpecBuilder.builder()
            .argv(List.of(WEIRD, "x".repeat(100_000)))
            .cwd(WEIRD)
            .env(Map.of())
            .slots(Integer.MIN_VALUE)
            .cpus(Integer.MAX_VALUE)
            .ramMb(Long.MIN_VALUE)
            .globalResources(Map.of(WEIRD, -1))
            .stdout(WEIRD)
            .stderr("")
            .batch(Long.MAX_VALUE)
            .arrayIndex(Long.MIN_VALUE)
            .build();
    JobSpec large =
        JobSpecBuilder.builder()
            .argv(longArgv)
            .cwd("/")
            .env(largeEnv)
            .slots(1)
            .cpus(1)
            .ramMb(Long.MAX_VALUE)
            .globalResources(manyResources)
            .batch(0L)
            .arrayIndex(-1L)
            .build();
    JobSpec empty =
        JobSpecBuilder.builder()
            .argv(List.of())
            .cwd("")
            .env(Map.of())
            .slots(0)
            .cpus(0)
            .ramMb(0)
            .build();
    JobSpec noCwd =
        JobSpecBuilder.builder()
            .argv(List.of(""))
            .slots(-1)
            .cpus(-2)
            .ramMb(-3)
            .globalResources(Map.of())
            .arrayIndex(0L)
            .build();

    List<Instant> instants =
        List.of(
            T0,
            Instant.EPOCH,
            T0.plusMillis(123),
            T0.plusNanos(123_000),
            T0.plusNanos(123_456_789),
            T0.plusNanos(1),
            T0.plusMillis(100),
            Instant.parse("0000-01-01T00:00:00Z"),
            Instant.parse("9999-12-31T23:59:59.999999999Z"),
            Instant.parse("1969-12-31T23:59:59.5Z"),
            Instant.parse("+10000-01-01T00:00:00Z"),
            Instant.parse("-0001-12-31T23:59:59.000001Z"),
            Instant.parse("+12026-11-25T11:09:55.123Z"),
            Instant.MIN,
            Instant.MAX);

    List<Message> samples = new ArrayList<>();
    for (String lone : LONE_SURROGATES) {
      samples.add(
          new Offer(
              1,
              1,
              JobSpecBuilder.builder()
                  .argv(List.of(lone))
                  .cwd(lone)
                  .env(Map.of("A", lone))
                  .slots(1)
                  .cpus(0)
                  .ramMb(0)
                  .globalResources(Map.of())
                  .stdout(lone)
                  .stderr(lone)
                  .build(),
              null));
      samples.add(
          new Ended(
              1,
              1,
              new JobOutcome(null, null, lone, null, null),
              new CapturedOutput(lone, 0),
              null));
    }
    for (JobSpec spec : Arrays.asList(typical, full, extremes, large, empty, noCwd, null)) {
      samples.add(new Offer(41, 1, spec, 3));
      samples.add(new Offer(Long.MAX_VALUE, Integer.MAX_VALUE, spec, null));
      samples.add(new Offer(Long.MIN_VALUE, Integer.MIN_VALUE, spec, Integer.MIN_VALUE));
      samples.add(new Offer(-1, -1, spec, -1));
    }
    for (long id : new long[] {0, 1, -1, 4_294_967_296L, Long.MAX_VALUE, Long.MIN_VALUE}) {
      samples.add(new ResultStored(id, (int) id));
      samples.add(new ResultStored(id, Integer.MIN_VALUE));
      samples.add(new Started(id, 1, T0));
    }
    samples.add(new Started(1, 1, null));
    for (Instant at : instants) {
      samples.add(new Started(7, 2, at));
      samples.add(
          new Ended(
              7,
              2,
              new JobOutcome(0, null, null, at, at),
              CapturedOutput.EMPTY,
              CapturedOutput.EMPTY));
    }
    List<JobOutcome> outcomes =
        Arrays.asList(
            new JobOutcome(0, null, null, T0, T0.plusMillis(5)),
            new JobOutcome(null, 9, null, T0, T0.plusNanos(1)),
            new JobOutcome(null, null, "command not found: " + WEIRD, null, T0),
            new JobOutcome(Integer.MIN_VALUE, Integer.MAX_VALUE, "", null, null),
            new JobOutcome(-1, -15, null, Instant.MIN, Instant.MAX),
            null);
    List<CapturedOutput> outputs =
        Arrays.asList(
            CapturedOutput.EMPTY,
            new CapturedOutput("hello\n", 0),
            new CapturedOutput(WEIRD, Long.MAX_VALUE),
            new CapturedOutput(null, -1),
            new CapturedOutput("y".repeat(70_000), Long.MIN_VALUE),
            null);
    for (JobOutcome outcome : outcomes) {
      for (int i = 0; i < outputs.size(); i++) {
        samples.add(new Ended(5, 1, outcome, outputs.get(i), outputs.get(outputs.size() - 1 - i)));
      }
    }
    return samples;
  }

  /**
   * Jackson writes a surrogate without its other half as an escape, and reads such an escape back
   * in a string but not in a field name: databind cannot read these lines.
   */
  private static List<Message> unreadableSamples() {
    List<Message> samples = new ArrayList<>();
    for (String lone : LONE_SURROGATES) {
      samples.add(
          new Offer(
              1,
              1,
              JobSpecBuilder.builder()
                  .argv(List.of())
                  .cwd("/")
                  .env(Map.of(lone, "x"))
                  .slots(1)
                  .cpus(0)
                  .ramMb(0)
                  .globalResources(Map.of())
                  .build(),
              2));
      samples.add(
          new Offer(
              1,
              1,
              JobSpecBuilder.builder()
                  .argv(List.of())
                  .cwd("/")
                  .slots(1)
                  .cpus(0)
                  .ramMb(0)
                  .globalResources(Map.of(lone, 1))
                  .build(),
              2));
    }
    return samples;
  }

  // ---- random messages ----

  private static Message randomMessage(Random random) {
    return switch (random.nextInt(4)) {
      case 0 ->
          new Offer(
              randomLong(random),
              randomInt(random),
              random.nextInt(8) == 0 ? null : randomSpec(random),
              random.nextBoolean() ? null : randomInt(random));
      case 1 -> new ResultStored(randomLong(random), randomInt(random));
      case 2 -> new Started(randomLong(random), randomInt(random), randomInstant(random));
      default ->
          new Ended(
              randomLong(random),
              randomInt(random),
              random.nextInt(8) == 0
                  ? null
                  : new JobOutcome(
                      randomInteger(random),
                      randomInteger(random),
                      randomText(random),
                      randomInstant(random),
                      randomInstant(random)),
              randomOutput(random),
              randomOutput(random));
    };
  }

  private static JobSpec randomSpec(Random random) {
    List<String> argv = new ArrayList<>();
    int args = random.nextInt(20) == 0 ? 200 : random.nextInt(5);
    for (int i = 0; i < args; i++) {
      argv.add(randomString(random));
    }
    Map<String, String> env = null;
    if (random.nextInt(3) > 0) {
      env = new HashMap<>();
      int variables = random.nextInt(10) == 0 ? 100 : random.nextInt(4);
      for (int i = 0; i < variables; i++) {
        env.put(randomName(random), randomString(random));
      }
    }
    Map<String, Integer> resources = random.nextInt(4) == 0 ? null : new HashMap<>();
    if (resources != null) {
      for (int i = random.nextInt(4); i > 0; i--) {
        resources.put(randomName(random), randomInt(random));
      }
    }
    return JobSpecBuilder.builder()
        .argv(argv)
        .cwd(randomText(random))
        .env(env)
        .slots(randomInt(random))
        .cpus(randomInt(random))
        .ramMb(randomLong(random))
        .globalResources(resources)
        .stdout(randomText(random))
        .stderr(randomText(random))
        .batch(randomNullableLong(random))
        .arrayIndex(randomNullableLong(random))
        .build();
  }

  private static CapturedOutput randomOutput(Random random) {
    return random.nextInt(4) == 0
        ? null
        : new CapturedOutput(randomText(random), randomLong(random));
  }

  private static long randomLong(Random random) {
    return switch (random.nextInt(6)) {
      case 0 -> Long.MIN_VALUE;
      case 1 -> Long.MAX_VALUE;
      case 2 -> random.nextInt(3) - 1;
      case 3 -> random.nextInt();
      default -> random.nextLong();
    };
  }

  private static int randomInt(Random random) {
    return switch (random.nextInt(5)) {
      case 0 -> Integer.MIN_VALUE;
      case 1 -> Integer.MAX_VALUE;
      case 2 -> random.nextInt(3) - 1;
      default -> random.nextInt();
    };
  }

  private static Integer randomInteger(Random random) {
    return random.nextInt(3) == 0 ? null : randomInt(random);
  }

  private static Long randomNullableLong(Random random) {
    return random.nextInt(3) == 0 ? null : randomLong(random);
  }

  private static String randomText(Random random) {
    return random.nextInt(4) == 0 ? null : randomString(random);
  }

  /** A map key: Jackson cannot read a lone surrogate in a field name back. */
  private static String randomName(Random random) {
    StringBuilder name = new StringBuilder(randomString(random));
    for (int i = 0; i < name.length(); i++) {
      if (Character.isSurrogate(name.charAt(i))
          && !(Character.isSurrogatePair(
              name.charAt(i), i + 1 < name.length() ? name.charAt(i + 1) : ' '))) {
        name.setCharAt(i, '?');
      } else if (Character.isHighSurrogate(name.charAt(i))) {
        i++;
      }
    }
    return name.toString();
  }

  /**
   * Printable ASCII mixed with what JSON must escape, what UTF-8 needs several bytes for, and
   * surrogates without their other half (which Jackson writes as escapes).
   */
  private static String randomString(Random random) {
    int length = random.nextInt(30) == 0 ? 5000 : random.nextInt(16);
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < length; i++) {
      switch (random.nextInt(10)) {
        case 0 -> text.append((char) random.nextInt(0x20));
        case 1 -> text.append("\"\\/\u007f\u2028".charAt(random.nextInt(5)));
        case 2 -> text.appendCodePoint(0x10000 + random.nextInt(0x100000));
        case 3 -> text.append((char) (0x80 + random.nextInt(0xD800 - 0x80)));
        case 4 -> text.append((char) (0xE000 + random.nextInt(0x2000)));
        case 5 -> text.append((char) (0xD800 + random.nextInt(0x800))); // a lone surrogate
        default -> text.append((char) (0x20 + random.nextInt(0x5f)));
      }
    }
    return text.toString();
  }

  private static Instant randomInstant(Random random) {
    long seconds =
        switch (random.nextInt(8)) {
          case 0 -> -1;
          case 1 -> random.nextLong(Instant.MIN.getEpochSecond(), Instant.MAX.getEpochSecond());
          default -> random.nextLong(-62_167_219_200L, 253_402_300_800L); // years 0 to 9999
        };
    int nanos =
        switch (random.nextInt(4)) {
          case 0 -> 0;
          case 1 -> random.nextInt(1000) * 1_000_000;
          case 2 -> random.nextInt(1_000_000) * 1000;
          default -> random.nextInt(1_000_000_000);
        };
    return random.nextInt(6) == 0 ? null : Instant.ofEpochSecond(seconds, nanos);
  }
}
