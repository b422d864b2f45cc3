package kueue.model;

/**
 * Where one output stream of a job goes. On the wire and in the database it is a single nullable
 * string: null means captured by Kueue, "null" means discarded (as with {@code -o null}), anything
 * else is a file path (relative paths are relative to the job's working directory).
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
}
