package kueue.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/** The JSON text of the argv, environment and global-resource columns. */
final class JsonColumns {

  // Sorted keys make equal environments serialise to equal text, which the dedup hash relies on.
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);
  private static final ObjectReader ARGV = MAPPER.readerFor(new TypeReference<List<String>>() {});
  private static final ObjectReader ENV =
      MAPPER.readerFor(new TypeReference<Map<String, String>>() {});
  private static final ObjectReader RESOURCES =
      MAPPER.readerFor(new TypeReference<Map<String, Integer>>() {});
  private static final ObjectReader AMOUNTS =
      MAPPER.readerFor(new TypeReference<Map<String, Double>>() {});
  private static final ObjectReader DEVICES =
      MAPPER.readerFor(new TypeReference<Map<String, List<Integer>>>() {});

  private JsonColumns() {}

  private static final ObjectReader NUMBERS = MAPPER.readerFor(new TypeReference<List<Long>>() {});

  /** A list of numbers (the runs of a captured stream), or null. */
  static List<Long> numbers(String jsonOrNull) {
    return jsonOrNull == null ? null : read(NUMBERS, jsonOrNull, "runs");
  }

  static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new StoreException("cannot encode " + value.getClass().getSimpleName(), e);
    }
  }

  static List<String> argv(String json) {
    return read(ARGV, json, "argv");
  }

  static Map<String, String> env(String json) {
    return read(ENV, json, "environment");
  }

  /** Empty resources are stored as NULL, which most jobs have. */
  static String resourcesOrNull(Map<String, Integer> resources) {
    return resources.isEmpty() ? null : write(resources);
  }

  static Map<String, Integer> resources(String jsonOrNull) {
    return jsonOrNull == null ? Map.of() : read(RESOURCES, jsonOrNull, "global resources");
  }

  /** Empty maps are stored as NULL, which most jobs have. */
  static String mapOrNull(Map<String, ?> map) {
    return map == null || map.isEmpty() ? null : write(map);
  }

  static Map<String, Double> amounts(String jsonOrNull) {
    return jsonOrNull == null ? Map.of() : read(AMOUNTS, jsonOrNull, "worker resources");
  }

  static Map<String, List<Integer>> devices(String jsonOrNull) {
    return jsonOrNull == null ? Map.of() : read(DEVICES, jsonOrNull, "devices");
  }

  static String sha256(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  private static <T> T read(ObjectReader reader, String json, String what) {
    try {
      return reader.readValue(json);
    } catch (JsonProcessingException e) {
      throw new StoreException(
          "stored " + what + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }
}
