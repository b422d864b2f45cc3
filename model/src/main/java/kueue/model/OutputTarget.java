package kueue.model;

/**
 * Where one output stream of a job goes. On the wire and in the database it is a single nullable
 * string: null means captured by Kueue, "null" means discarded (as with {@code -o null}), anything
 * else is a file path (relative paths are relative to the job's working directory).
 *
 * <p>A file path may hold placeholders, replaced by the server when it gives the job its id, before
 * the spec is stored (so {@code show-job} and the worker see the final name): {@code %j} the job
 * id, {@code %a} the array index, {@code %b} the batch id, {@code %%} a literal {@code %}. Any
 * other {@code %} is an error, so that a typo does not silently become part of a file name.
 */
public final class OutputTarget {
  public static final String DISCARD = "null";

  private OutputTarget() {}

  public static boolean isCaptured(String target) {
    return target == null;
  }

  public static boolean isDiscarded(String target) {
    return DISCARD.equals(target);
  }

  /**
   * Why the target's placeholders cannot be used, or null when they can. {@code %a} and {@code %b}
   * need a batch.
   */
  public static String problem(String target, boolean inBatch) {
    if (target == null) {
      return null;
    }
    for (int i = 0; i < target.length(); i++) {
      if (target.charAt(i) != '%') {
        continue;
      }
      if (i + 1 == target.length()) {
        return "'" + target + "' ends with a lone %; write %% for a literal %";
      }
      char code = target.charAt(++i);
      switch (code) {
        case '%', 'j' -> {}
        case 'a', 'b' -> {
          if (!inBatch) {
            return "'"
                + target
                + "' uses %"
                + code
                + ", which only a batch (--array or --file) has";
          }
        }
        default -> {
          return "'"
              + target
              + "' has the unknown placeholder %"
              + code
              + " (known: %j job id, %a array index, %b batch id, %% a literal %)";
        }
      }
    }
    return null;
  }

  /** The target with its placeholders replaced; expects a target without {@link #problem}. */
  public static String expand(String target, long jobId, Long batch, Long index) {
    if (target == null || target.indexOf('%') < 0) {
      return target;
    }
    StringBuilder out = new StringBuilder(target.length() + 16);
    for (int i = 0; i < target.length(); i++) {
      char c = target.charAt(i);
      if (c != '%' || i + 1 == target.length()) {
        out.append(c);
        continue;
      }
      char code = target.charAt(++i);
      switch (code) {
        case 'j' -> out.append(jobId);
        case 'a' -> out.append(index == null ? "" : index.toString());
        case 'b' -> out.append(batch == null ? "" : batch.toString());
        case '%' -> out.append('%');
        default -> out.append('%').append(code);
      }
    }
    return out.toString();
  }
}
