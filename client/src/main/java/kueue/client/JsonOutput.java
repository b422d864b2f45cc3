package kueue.client;

import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
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
}
