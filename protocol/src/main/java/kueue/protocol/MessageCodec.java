package kueue.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Turns messages into single-line UTF-8 JSON and back. Jackson escapes newlines inside strings, so
 * a newline byte always ends a message.
 */
public final class MessageCodec {
  /** Largest message accepted from a peer, newline excluded. Bounds memory per connection. */
  public static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

  private static final ObjectMapper MAPPER = newMapper();

  private MessageCodec() {}

  /** The mapper used on the wire; also used for {@code --json} output so both forms stay one. */
  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static ObjectMapper newMapper() {
    JsonMapper mapper =
        JsonMapper.builder()
            .addModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(64)
                .maxStringLength(MAX_MESSAGE_BYTES)
                .build());
    return mapper;
  }

  /** The message as one line, newline included. */
  public static byte[] encode(Message message) {
    try {
      byte[] json = MAPPER.writerFor(Message.class).writeValueAsBytes(message);
      byte[] line = new byte[json.length + 1];
      System.arraycopy(json, 0, line, 0, json.length);
      line[json.length] = '\n';
      return line;
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot encode " + message.getClass().getSimpleName(), e);
    }
  }

  public static Message decode(byte[] line) throws ProtocolException {
    try {
      Message message = MAPPER.readValue(line, Message.class);
      if (message == null) {
        throw new ProtocolException("empty message");
      }
      return message;
    } catch (IOException | RuntimeException e) {
      throw new ProtocolException("invalid message: " + firstLine(e.getMessage()), e);
    }
  }

  private static String firstLine(String text) {
    if (text == null) {
      return "unreadable";
    }
    int end = text.indexOf('\n');
    String line = end < 0 ? text : text.substring(0, end);
    return line.length() > 200 ? line.substring(0, 200) + "..." : line;
  }
}
