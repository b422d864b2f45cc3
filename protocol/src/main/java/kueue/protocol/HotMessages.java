package kueue.protocol;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonParser.NumberType;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message.Ended;
import kueue.protocol.Message.Offer;
import kueue.protocol.Message.ResultStored;
import kueue.protocol.Message.Started;

/**
 * Offer, ResultStored, Started and Ended written and read with Jackson's streaming API. Every job
 * sends each of them once; with databind (reflection on the records' accessors, polymorphic type
 * handling, construction through the records' creators) writing and reading them took about a third
 * of the server's Java CPU in a throughput benchmark of thousands of tiny jobs.
 *
 * <p>The bytes written are exactly databind's. Reading gives exactly databind's record, or nothing:
 * anything that databind might read differently (a duplicate field, a missing int or long, a number
 * or string that databind would coerce, the type not first, ...) is left to databind, which then
 * accepts or rejects it as it always did.
 */
final class HotMessages {
  private static final JsonFactory JSON = MessageCodec.mapper().getFactory();

  /** Thrown where the input is left to databind; carries no stack trace, as it is no error. */
  private static final class NotHandled extends Exception {
    NotHandled() {
      super(null, null, false, false);
    }
  }

  private static final NotHandled NOT_HANDLED = new NotHandled();

  private HotMessages() {}

  /** The message as one line, newline included, or null when databind must write it. */
  static byte[] encode(Message message) {
    if (!(message instanceof Offer
        || message instanceof ResultStored
        || message instanceof Started
        || message instanceof Ended)) {
      return null;
    }
    ByteArrayBuilder bytes = new ByteArrayBuilder(256);
    try (JsonGenerator out = JSON.createGenerator(bytes, JsonEncoding.UTF8)) {
      switch (message) {
        case Offer offer -> writeOffer(out, offer);
        case ResultStored stored -> writeResultStored(out, stored);
        case Started started -> writeStarted(out, started);
        case Ended ended -> writeEnded(out, ended);
        default -> throw new IllegalStateException();
      }
      out.writeRaw('\n');
    } catch (IOException e) {
      return null; // databind reports it
    }
    return bytes.toByteArray();
  }

  /** The message, or null when databind must read the line (it may still be valid). */
  static Message decode(byte[] line) {
    try (JsonParser in = JSON.createParser(line)) {
      // databind reads the type id in place only when it comes first; otherwise it buffers.
      if (in.nextToken() != JsonToken.START_OBJECT
          || in.nextToken() != JsonToken.FIELD_NAME
          || !in.currentName().equals("type")
          || in.nextToken() != JsonToken.VALUE_STRING) {
        return null;
      }
      // Like databind, nothing after the object's end is read.
      return switch (in.getText()) {
        case "offer" -> readOffer(in);
        case "result_stored" -> readResultStored(in);
        case "started" -> readStarted(in);
        case "ended" -> readEnded(in);
        default -> null;
      };
    } catch (IOException | RuntimeException | NotHandled e) {
      // Left to databind, invalid JSON, or a constructor's exception: databind answers as ever.
      return null;
    }
  }

  // ---- writing: the order of the record components, as databind writes them ----

  private static void writeOffer(JsonGenerator out, Offer offer) throws IOException {
    out.writeStartObject();
    out.writeStringField("type", "offer");
    out.writeNumberField("jobId", offer.jobId());
    out.writeNumberField("attempt", offer.attempt());
    out.writeFieldName("spec");
    writeSpec(out, offer.spec());
    writeNumberField(out, "envSlot", offer.envSlot());
    out.writeEndObject();
  }

  private static void writeSpec(JsonGenerator out, JobSpec spec) throws IOException {
    if (spec == null) {
      out.writeNull();
      return;
    }
    out.writeStartObject();
    out.writeFieldName("argv");
    out.writeStartArray();
    for (String arg : spec.argv()) {
      out.writeString(arg);
    }
    out.writeEndArray();
    out.writeStringField("cwd", spec.cwd());
    out.writeFieldName("env");
    if (spec.env() == null) {
      out.writeNull();
    } else {
      out.writeStartObject();
      for (Map.Entry<String, String> variable : spec.env().entrySet()) {
        out.writeStringField(variable.getKey(), variable.getValue());
      }
      out.writeEndObject();
    }
    out.writeNumberField("slots", spec.slots());
    out.writeNumberField("cpus", spec.cpus());
    out.writeNumberField("ramMb", spec.ramMb());
    out.writeFieldName("globalResources");
    out.writeStartObject(); // never null: the constructor makes it empty
    for (Map.Entry<String, Integer> resource : spec.globalResources().entrySet()) {
      out.writeNumberField(resource.getKey(), resource.getValue());
    }
    out.writeEndObject();
    out.writeStringField("stdout", spec.stdout());
    out.writeStringField("stderr", spec.stderr());
    writeNumberField(out, "batch", spec.batch());
    writeNumberField(out, "arrayIndex", spec.arrayIndex());
    out.writeEndObject();
  }

  private static void writeResultStored(JsonGenerator out, ResultStored stored) throws IOException {
    out.writeStartObject();
    out.writeStringField("type", "result_stored");
    out.writeNumberField("jobId", stored.jobId());
    out.writeNumberField("attempt", stored.attempt());
    out.writeEndObject();
  }

  private static void writeStarted(JsonGenerator out, Started started) throws IOException {
    out.writeStartObject();
    out.writeStringField("type", "started");
    out.writeNumberField("jobId", started.jobId());
    out.writeNumberField("attempt", started.attempt());
    writeInstantField(out, "at", started.at());
    out.writeEndObject();
  }

  private static void writeEnded(JsonGenerator out, Ended ended) throws IOException {
    out.writeStartObject();
    out.writeStringField("type", "ended");
    out.writeNumberField("jobId", ended.jobId());
    out.writeNumberField("attempt", ended.attempt());
    out.writeFieldName("outcome");
    JobOutcome outcome = ended.outcome();
    if (outcome == null) {
      out.writeNull();
    } else {
      out.writeStartObject();
      writeNumberField(out, "exitCode", outcome.exitCode());
      writeNumberField(out, "signal", outcome.signal());
      out.writeStringField("failure", outcome.failure());
      writeInstantField(out, "started", outcome.started());
      writeInstantField(out, "ended", outcome.ended());
      out.writeEndObject();
    }
    writeOutputField(out, "stdout", ended.stdout());
    writeOutputField(out, "stderr", ended.stderr());
    out.writeEndObject();
  }

  private static void writeOutputField(JsonGenerator out, String name, CapturedOutput output)
      throws IOException {
    out.writeFieldName(name);
    if (output == null) {
      out.writeNull();
      return;
    }
    out.writeStartObject();
    out.writeStringField("text", output.text());
    out.writeNumberField("droppedBytes", output.droppedBytes());
    out.writeEndObject();
  }

  private static void writeNumberField(JsonGenerator out, String name, Integer value)
      throws IOException {
    out.writeFieldName(name);
    if (value == null) {
      out.writeNull();
    } else {
      out.writeNumber(value.intValue());
    }
  }

  private static void writeNumberField(JsonGenerator out, String name, Long value)
      throws IOException {
    out.writeFieldName(name);
    if (value == null) {
      out.writeNull();
    } else {
      out.writeNumber(value.longValue());
    }
  }

  private static void writeInstantField(JsonGenerator out, String name, Instant value)
      throws IOException {
    out.writeFieldName(name);
    if (value == null) {
      out.writeNull();
    } else {
      out.writeString(FastInstants.format(value));
    }
  }

  // ---- reading: each method starts on its value's first token and ends on its last ----

  private static Offer readOffer(JsonParser in) throws IOException, NotHandled {
    long jobId = 0;
    int attempt = 0;
    JobSpec spec = null;
    Integer envSlot = null;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "jobId" -> {
          seen = once(seen, 0);
          jobId = readLong(in);
        }
        case "attempt" -> {
          seen = once(seen, 1);
          attempt = readInt(in);
        }
        case "spec" -> {
          seen = once(seen, 2);
          spec = readSpec(in);
        }
        case "envSlot" -> {
          seen = once(seen, 3);
          envSlot = readInteger(in);
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 0, 1);
    return new Offer(jobId, attempt, spec, envSlot);
  }

  private static JobSpec readSpec(JsonParser in) throws IOException, NotHandled {
    if (startsObjectOrIsNull(in)) {
      return null;
    }
    JobSpecBuilder spec = JobSpecBuilder.builder();
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "argv" -> {
          seen = once(seen, 0);
          spec.argv(readStrings(in));
        }
        case "cwd" -> {
          seen = once(seen, 1);
          spec.cwd(readString(in));
        }
        case "env" -> {
          seen = once(seen, 2);
          spec.env(readEnvironment(in));
        }
        case "slots" -> {
          seen = once(seen, 3);
          spec.slots(readInt(in));
        }
        case "cpus" -> {
          seen = once(seen, 4);
          spec.cpus(readInt(in));
        }
        case "ramMb" -> {
          seen = once(seen, 5);
          spec.ramMb(readLong(in));
        }
        case "globalResources" -> {
          seen = once(seen, 6);
          spec.globalResources(readResources(in));
        }
        case "stdout" -> {
          seen = once(seen, 7);
          spec.stdout(readString(in));
        }
        case "stderr" -> {
          seen = once(seen, 8);
          spec.stderr(readString(in));
        }
        case "batch" -> {
          seen = once(seen, 9);
          spec.batch(readLongOrNull(in));
        }
        case "arrayIndex" -> {
          seen = once(seen, 10);
          spec.arrayIndex(readLongOrNull(in));
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 3, 4, 5);
    return spec.build();
  }

  private static ResultStored readResultStored(JsonParser in) throws IOException, NotHandled {
    long jobId = 0;
    int attempt = 0;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "jobId" -> {
          seen = once(seen, 0);
          jobId = readLong(in);
        }
        case "attempt" -> {
          seen = once(seen, 1);
          attempt = readInt(in);
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 0, 1);
    return new ResultStored(jobId, attempt);
  }

  private static Started readStarted(JsonParser in) throws IOException, NotHandled {
    long jobId = 0;
    int attempt = 0;
    Instant at = null;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "jobId" -> {
          seen = once(seen, 0);
          jobId = readLong(in);
        }
        case "attempt" -> {
          seen = once(seen, 1);
          attempt = readInt(in);
        }
        case "at" -> {
          seen = once(seen, 2);
          at = readInstant(in);
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 0, 1);
    return new Started(jobId, attempt, at);
  }

  private static Ended readEnded(JsonParser in) throws IOException, NotHandled {
    long jobId = 0;
    int attempt = 0;
    JobOutcome outcome = null;
    CapturedOutput stdout = null;
    CapturedOutput stderr = null;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "jobId" -> {
          seen = once(seen, 0);
          jobId = readLong(in);
        }
        case "attempt" -> {
          seen = once(seen, 1);
          attempt = readInt(in);
        }
        case "outcome" -> {
          seen = once(seen, 2);
          outcome = readOutcome(in);
        }
        case "stdout" -> {
          seen = once(seen, 3);
          stdout = readOutput(in);
        }
        case "stderr" -> {
          seen = once(seen, 4);
          stderr = readOutput(in);
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 0, 1);
    return new Ended(jobId, attempt, outcome, stdout, stderr);
  }

  private static JobOutcome readOutcome(JsonParser in) throws IOException, NotHandled {
    if (startsObjectOrIsNull(in)) {
      return null;
    }
    Integer exitCode = null;
    Integer signal = null;
    String failure = null;
    Instant started = null;
    Instant ended = null;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "exitCode" -> {
          seen = once(seen, 0);
          exitCode = readInteger(in);
        }
        case "signal" -> {
          seen = once(seen, 1);
          signal = readInteger(in);
        }
        case "failure" -> {
          seen = once(seen, 2);
          failure = readString(in);
        }
        case "started" -> {
          seen = once(seen, 3);
          started = readInstant(in);
        }
        case "ended" -> {
          seen = once(seen, 4);
          ended = readInstant(in);
        }
        default -> skipValue(in);
      }
    }
    return new JobOutcome(exitCode, signal, failure, started, ended);
  }

  private static CapturedOutput readOutput(JsonParser in) throws IOException, NotHandled {
    if (startsObjectOrIsNull(in)) {
      return null;
    }
    String text = null;
    long droppedBytes = 0;
    int seen = 0;
    for (String field = nextField(in); field != null; field = nextField(in)) {
      switch (field) {
        case "text" -> {
          seen = once(seen, 0);
          text = readString(in);
        }
        case "droppedBytes" -> {
          seen = once(seen, 1);
          droppedBytes = readLong(in);
        }
        default -> skipValue(in);
      }
    }
    requirePrimitives(seen, 1);
    return new CapturedOutput(text, droppedBytes);
  }

  /** The next field's name with the parser on its value, or null at the object's end. */
  private static String nextField(JsonParser in) throws IOException {
    if (in.nextToken() != JsonToken.FIELD_NAME) {
      return null; // END_OBJECT: anything else inside an object is a parse error
    }
    String name = in.currentName();
    in.nextToken();
    return name;
  }

  /**
   * Marks field number index as read. databind keeps the last of two values while the record is
   * incomplete and fails once it was built, so a repeated field is left to it.
   */
  private static int once(int seen, int index) throws NotHandled {
    int bit = 1 << index;
    if ((seen & bit) != 0) {
      throw NOT_HANDLED;
    }
    return seen | bit;
  }

  /** databind rejects a missing int or long component (FAIL_ON_NULL_FOR_PRIMITIVES). */
  private static void requirePrimitives(int seen, int... indexes) throws NotHandled {
    for (int index : indexes) {
      if ((seen & (1 << index)) == 0) {
        throw NOT_HANDLED;
      }
    }
  }

  /** True for null; false on the start of an object. databind coerces some other tokens. */
  private static boolean startsObjectOrIsNull(JsonParser in) throws NotHandled {
    return switch (in.currentToken()) {
      case VALUE_NULL -> true;
      case START_OBJECT -> false;
      default -> throw NOT_HANDLED;
    };
  }

  // Only the plain token of each type is read here: databind turns "12" or 12.5 into a long,
  // 12 into a string, and null into an error for an int or long.

  private static int readInt(JsonParser in) throws IOException, NotHandled {
    if (in.currentToken() != JsonToken.VALUE_NUMBER_INT || in.getNumberType() != NumberType.INT) {
      throw NOT_HANDLED;
    }
    return in.getIntValue();
  }

  private static long readLong(JsonParser in) throws IOException, NotHandled {
    if (in.currentToken() != JsonToken.VALUE_NUMBER_INT
        || in.getNumberType() == NumberType.BIG_INTEGER) {
      throw NOT_HANDLED;
    }
    return in.getLongValue();
  }

  private static Integer readInteger(JsonParser in) throws IOException, NotHandled {
    return in.currentToken() == JsonToken.VALUE_NULL ? null : readInt(in);
  }

  private static Long readLongOrNull(JsonParser in) throws IOException, NotHandled {
    return in.currentToken() == JsonToken.VALUE_NULL ? null : readLong(in);
  }

  private static String readString(JsonParser in) throws IOException, NotHandled {
    return switch (in.currentToken()) {
      case VALUE_STRING -> in.getText();
      case VALUE_NULL -> null;
      default -> throw NOT_HANDLED;
    };
  }

  private static Instant readInstant(JsonParser in) throws IOException, NotHandled {
    String text = readString(in);
    if (text == null) {
      return null;
    }
    Instant instant = FastInstants.parse(text); // what FastInstants' deserializer tries first
    if (instant == null) {
      throw NOT_HANDLED;
    }
    return instant;
  }

  private static List<String> readStrings(JsonParser in) throws IOException, NotHandled {
    if (in.currentToken() == JsonToken.VALUE_NULL) {
      return null;
    }
    if (in.currentToken() != JsonToken.START_ARRAY) {
      throw NOT_HANDLED;
    }
    List<String> strings = new ArrayList<>();
    while (in.nextToken() != JsonToken.END_ARRAY) {
      strings.add(readString(in));
    }
    return strings;
  }

  /** A repeated name keeps its last value, as in databind's maps. */
  private static Map<String, String> readEnvironment(JsonParser in) throws IOException, NotHandled {
    if (startsObjectOrIsNull(in)) {
      return null;
    }
    Map<String, String> env = new HashMap<>();
    for (String name = nextField(in); name != null; name = nextField(in)) {
      env.put(name, readString(in));
    }
    return env;
  }

  private static Map<String, Integer> readResources(JsonParser in) throws IOException, NotHandled {
    if (startsObjectOrIsNull(in)) {
      return null;
    }
    Map<String, Integer> resources = new HashMap<>();
    for (String name = nextField(in); name != null; name = nextField(in)) {
      resources.put(name, readInteger(in));
    }
    return resources;
  }

  /**
   * Passes over a value no record has a place for. Its strings and numbers are read, not just
   * skipped, because databind buffers such a value, reading it, until the record is complete: what
   * fails there must not pass here.
   */
  private static void skipValue(JsonParser in) throws IOException {
    int depth = 0;
    do {
      switch (in.currentToken()) {
        case START_OBJECT, START_ARRAY -> depth++;
        case END_OBJECT, END_ARRAY -> depth--;
        case VALUE_STRING -> in.getText();
        case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> in.getNumberType();
        default -> {}
      }
    } while (depth > 0 && in.nextToken() != null);
  }
}
