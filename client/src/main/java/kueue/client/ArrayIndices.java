package kueue.client;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kueue.protocol.Message;

/**
 * The indices of {@code kueue cmd --array}: comma-separated items, each an index {@code N}, a range
 * {@code N-M} (both included) or a range with a step {@code N-M:S}, e.g. {@code 1-10,20,30-40} or
 * {@code 0-100:10}. Indices are whole numbers from 0, in the order given, each at most once.
 */
final class ArrayIndices {
  private static final Pattern ITEM = Pattern.compile("(\\d+)(?:-(\\d+)(?::(\\d+))?)?");

  private ArrayIndices() {}

  /** The indices, or an IllegalArgumentException whose message says what is wrong and where. */
  static List<Long> parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("--array needs indices, e.g. 1-100 or 1-10,20,30-40");
    }
    List<long[]> ranges = new ArrayList<>();
    long count = 0;
    for (String rawItem : text.split(",", -1)) {
      String item = rawItem.strip();
      Matcher matcher = ITEM.matcher(item);
      if (!matcher.matches()) {
        throw new IllegalArgumentException(
            "--array: '"
                + item
                + "' is not an index N, a range N-M or a range with a step N-M:S"
                + " (whole numbers from 0)");
      }
      long first = number(matcher.group(1), item);
      long last = matcher.group(2) == null ? first : number(matcher.group(2), item);
      long step = matcher.group(3) == null ? 1 : number(matcher.group(3), item);
      if (last < first) {
        throw new IllegalArgumentException(
            "--array: '" + item + "' ends before it starts; write " + last + "-" + first);
      }
      if (step < 1) {
        throw new IllegalArgumentException(
            "--array: the step in '" + item + "' must be at least 1");
      }
      count += (last - first) / step + 1;
      if (count > Message.MAX_JOBS_PER_SUBMIT) {
        throw new IllegalArgumentException(
            "--array "
                + text
                + " asks for more than "
                + Message.MAX_JOBS_PER_SUBMIT
                + " jobs, the most one submission may have");
      }
      ranges.add(new long[] {first, last, step});
    }
    List<Long> indices = new ArrayList<>((int) count);
    Set<Long> seen = new HashSet<>();
    for (long[] range : ranges) {
      for (long index = range[0]; index <= range[1]; index += range[2]) {
        if (!seen.add(index)) {
          throw new IllegalArgumentException("--array: index " + index + " is given twice");
        }
        indices.add(index);
        if (index > Long.MAX_VALUE - range[2]) {
          break;
        }
      }
    }
    return indices;
  }

  private static long number(String digits, String item) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--array: a number in '" + item + "' is too large");
    }
  }
}
