package kueue.client;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;

/**
 * The {@code --json} form: the reply's payload in the protocol's own field names (docs/JSON.md),
 * pretty-printed, without the protocol's "type" field, which says nothing to a script that knows
 * which command it ran.
 */
final class JsonOutput {
  @JsonTypeInfo(use = JsonTypeInfo.Id.NONE)
  private interface WithoutTypeField {}

  private static final ObjectWriter WRITER =
      MessageCodec.mapper()
          .copy()
          .addMixIn(Message.class, WithoutTypeField.class)
          .writerWithDefaultPrettyPrinter();

  private JsonOutput() {}

  static String toJson(Object payload) {
    try {
      return WRITER.writeValueAsString(payload);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write " + payload.getClass().getSimpleName(), e);
    }
  }

  static void print(PrintWriter out, Object payload) {
    out.println(toJson(payload));
  }

  static JobListWriter jobListWriter(PrintWriter out) {
    try {
      return new JobListWriter(out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write JSON", e);
    }
  }

  /**
   * Writes a {@link Message.JobList} as it arrives page by page, as the same JSON {@link #print}
   * writes for the whole list at once.
   */
  static final class JobListWriter {
    private final PrintWriter out;
    private final JsonGenerator generator;

    private JobListWriter(PrintWriter out) throws IOException {
      this.out = out;
      this.generator = WRITER.createGenerator(out);
      generator.writeStartObject();
      generator.writeFieldName("jobs");
      generator.writeStartArray();
    }

    void jobs(List<JobSummary> jobs) {
      try {
        for (JobSummary job : jobs) {
          WRITER.writeValue(generator, job);
        }
        generator.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write JSON", e);
      }
    }

    void finish(JobStats stats) {
      try {
        generator.writeEndArray();
        generator.writeFieldName("stats");
        WRITER.writeValue(generator, stats);
        generator.writeEndObject();
        generator.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write JSON", e);
      }
      out.println();
    }
  }
}
