package kueue.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ProtocolException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The messages every job sends, written and read by Jackson databind (as MessageCodec did for all
 * messages) and by MessageCodec (which writes and reads these with the streaming API): the offer
 * the server sends, and the started and ended reports it reads back.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {
  @Param({"databind", "codec"})
  String via;

  private static final ObjectMapper MAPPER = MessageCodec.mapper();
  private static final ObjectWriter WRITER = MAPPER.writerFor(Message.class);

  private final Message offer =
      new Message.Offer(
          123_456,
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
  private final Message started =
      new Message.Started(123_456, 1, Instant.parse("2026-11-25T11:09:55.123456Z"));
  private final Message ended =
      new Message.Ended(
          123_456,
          1,
          new JobOutcome(
              0,
              null,
              null,
              Instant.parse("2026-11-25T11:09:55.123456Z"),
              Instant.parse("2026-11-25T11:09:55.125789Z")),
          CapturedOutput.EMPTY,
          CapturedOutput.EMPTY);
  private byte[] offerLine;
  private byte[] startedLine;
  private byte[] endedLine;
  private boolean databind;

  @Setup
  public void setUp() throws IOException {
    databind = via.equals("databind");
    offerLine = withoutNewline(MessageCodec.encode(offer));
    startedLine = withoutNewline(MessageCodec.encode(started));
    endedLine = withoutNewline(MessageCodec.encode(ended));
    if (!Arrays.equals(databindLine(offer), MessageCodec.encode(offer))
        || !MAPPER.readValue(offerLine, Message.class).equals(offer)) {
      throw new IllegalStateException("the two ways disagree");
    }
  }

  @Benchmark
  public byte[] encodeOffer() throws IOException {
    return encode(offer);
  }

  @Benchmark
  public Message decodeOffer() throws IOException, ProtocolException {
    return decode(offerLine);
  }

  @Benchmark
  public void encodeStartedAndEnded(Blackhole sink) throws IOException {
    sink.consume(encode(started));
    sink.consume(encode(ended));
  }

  @Benchmark
  public void decodeStartedAndEnded(Blackhole sink) throws IOException, ProtocolException {
    sink.consume(decode(startedLine));
    sink.consume(decode(endedLine));
  }

  private byte[] encode(Message message) throws IOException {
    return databind ? databindLine(message) : MessageCodec.encode(message);
  }

  private Message decode(byte[] line) throws IOException, ProtocolException {
    return databind ? MAPPER.readValue(line, Message.class) : MessageCodec.decode(line);
  }

  /** What MessageCodec.encode did for every message before the streaming path. */
  private static byte[] databindLine(Message message) throws IOException {
    byte[] json = WRITER.writeValueAsBytes(message);
    byte[] line = Arrays.copyOf(json, json.length + 1);
    line[json.length] = '\n';
    return line;
  }

  private static byte[] withoutNewline(byte[] line) {
    return Arrays.copyOf(line, line.length - 1);
  }
}
