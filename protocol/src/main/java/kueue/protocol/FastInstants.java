package kueue.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdScalarSerializer;
import com.fasterxml.jackson.datatype.jsr310.deser.InstantDeserializer;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;

/**
 * Instants in the same ISO-8601 text as {@link Instant#toString()} (what the JavaTimeModule writes
 * too), read and written without java.time's general formatter: every job's start and end cross the
 * wire as such strings, and the formatter cost more than the rest of decoding a worker's report.
 * Anything but the plain UTC form (years 0 to 9999, "Z") goes to the general code.
 */
final class FastInstants {
  static final SimpleModule MODULE =
      new SimpleModule("kueue-instants")
          .addSerializer(Instant.class, new Writer())
          .addDeserializer(Instant.class, new Reader());

  private FastInstants() {}

  /** The text of Instant.toString(): 2026-11-25T11:09:55Z, .123Z, .123456Z or .123456789Z. */
  static String format(Instant instant) {
    long seconds = instant.getEpochSecond();
    long days = Math.floorDiv(seconds, 86_400);
    int secondOfDay = Math.floorMod(seconds, 86_400);
    if (days < -719_528 || days > 2_932_896) { // outside years 0 to 9999
      return instant.toString();
    }
    LocalDate date = LocalDate.ofEpochDay(days);
    char[] text = new char[30];
    int at = 0;
    at = digits(text, at, date.getYear(), 4);
    text[at++] = '-';
    at = digits(text, at, date.getMonthValue(), 2);
    text[at++] = '-';
    at = digits(text, at, date.getDayOfMonth(), 2);
    text[at++] = 'T';
    at = digits(text, at, secondOfDay / 3600, 2);
    text[at++] = ':';
    at = digits(text, at, secondOfDay / 60 % 60, 2);
    text[at++] = ':';
    at = digits(text, at, secondOfDay % 60, 2);
    int nanos = instant.getNano();
    if (nanos != 0) {
      text[at++] = '.';
      if (nanos % 1_000_000 == 0) {
        at = digits(text, at, nanos / 1_000_000, 3);
      } else if (nanos % 1000 == 0) {
        at = digits(text, at, nanos / 1000, 6);
      } else {
        at = digits(text, at, nanos, 9);
      }
    }
    text[at++] = 'Z';
    return new String(text, 0, at);
  }

  private static int digits(char[] text, int at, int value, int width) {
    for (int i = width - 1; i >= 0; i--) {
      text[at + i] = (char) ('0' + value % 10);
      value /= 10;
    }
    return at + width;
  }

  /** Parses the plain form; null when the text is anything else (the caller falls back). */
  static Instant parse(String text) {
    int length = text.length();
    if (length < 20
        || length > 30
        || text.charAt(4) != '-'
        || text.charAt(7) != '-'
        || text.charAt(10) != 'T'
        || text.charAt(13) != ':'
        || text.charAt(16) != ':'
        || text.charAt(length - 1) != 'Z') {
      return null;
    }
    int year = number(text, 0, 4);
    int month = number(text, 5, 2);
    int day = number(text, 8, 2);
    int hour = number(text, 11, 2);
    int minute = number(text, 14, 2);
    int second = number(text, 17, 2);
    if (year < 0
        || month < 1
        || month > 12
        || day < 1
        || hour < 0
        || hour > 23
        || minute < 0
        || minute > 59
        || second < 0
        || second > 59) {
      return null;
    }
    int nanos = 0;
    if (length > 20) {
      int fraction = length - 21; // between the '.' and the 'Z'
      if (text.charAt(19) != '.' || fraction < 1 || fraction > 9) {
        return null;
      }
      nanos = number(text, 20, fraction);
      if (nanos < 0) {
        return null;
      }
      for (int i = fraction; i < 9; i++) {
        nanos *= 10;
      }
    }
    if (day > LocalDate.of(year, month, 1).lengthOfMonth()) {
      return null;
    }
    long epochDay = LocalDate.of(year, month, day).toEpochDay();
    return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3600 + minute * 60 + second, nanos);
  }

  /** The decimal number of count digits at from, or -1 if there is anything else. */
  private static int number(String text, int from, int count) {
    int value = 0;
    for (int i = from; i < from + count; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    return value;
  }

  private static final class Writer extends StdScalarSerializer<Instant> {
    Writer() {
      super(Instant.class);
    }

    @Override
    public void serialize(Instant value, JsonGenerator out, SerializerProvider provider)
        throws IOException {
      out.writeString(format(value));
    }
  }

  private static final class Reader extends StdScalarDeserializer<Instant> {
    Reader() {
      super(Instant.class);
    }

    @Override
    public Instant deserialize(JsonParser in, DeserializationContext context) throws IOException {
      if (in.hasToken(JsonToken.VALUE_STRING)) {
        Instant parsed = parse(in.getText());
        if (parsed != null) {
          return parsed;
        }
      }
      return InstantDeserializer.INSTANT.deserialize(in, context);
    }
  }
}
