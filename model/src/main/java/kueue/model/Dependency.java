package kueue.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One condition of a job on another job, or on every job of a batch when jobId is a batch id.
 *
 * @param kind how the job named must end
 * @param jobId a job id, or a batch id (the id of the batch's first job) for all of its jobs
 */
public record Dependency(DependencyKind kind, long jobId) {

  public Dependency {
    if (kind == null) {
      throw new IllegalArgumentException("a dependency needs its kind");
    }
  }

  /**
   * Parses Slurm's form, {@code afterok:12:13,afterany:14}: conditions separated by commas, each a
   * kind and one or more ids separated by colons.
   *
   * @throws IllegalArgumentException with a message for the user when the text is not of that form
   */
  public static List<Dependency> parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty dependency");
    }
    List<Dependency> dependencies = new ArrayList<>();
    for (String condition : text.split(",", -1)) {
      String[] parts = condition.trim().split(":", -1);
      DependencyKind kind;
      try {
        kind = DependencyKind.valueOf(parts[0].trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown dependency '"
                + parts[0].trim()
                + "' (use afterok:ID[:ID...], afterany:ID... or afternotok:ID...)");
      }
      if (parts.length < 2) {
        throw new IllegalArgumentException(kind.label() + " needs at least one job id");
      }
      for (int i = 1; i < parts.length; i++) {
        dependencies.add(new Dependency(kind, parseId(parts[i])));
      }
    }
    return List.copyOf(dependencies);
  }

  /** Job ids separated by commas (kueue cmd --after 12,13), each an afterok dependency. */
  public static List<Dependency> parseAfter(String ids) {
    if (ids == null || ids.isBlank()) {
      throw new IllegalArgumentException("--after needs a job id");
    }
    List<Dependency> dependencies = new ArrayList<>();
    for (String id : ids.split(",", -1)) {
      dependencies.add(new Dependency(DependencyKind.AFTEROK, parseId(id)));
    }
    return List.copyOf(dependencies);
  }

  /** The form {@link #parse} reads, ids grouped by kind: afterok:12:13,afterany:14. */
  public static String format(List<Dependency> dependencies) {
    Map<DependencyKind, StringBuilder> byKind = new TreeMap<>();
    for (Dependency dependency : dependencies) {
      byKind
          .computeIfAbsent(dependency.kind(), kind -> new StringBuilder(kind.label()))
          .append(':')
          .append(dependency.jobId());
    }
    return String.join(",", byKind.values());
  }

  private static long parseId(String text) {
    try {
      long id = Long.parseLong(text.trim());
      if (id > 0) {
        return id;
      }
    } catch (NumberFormatException e) {
      // the message below says what was expected
    }
    throw new IllegalArgumentException("'" + text.trim() + "' is not a job id");
  }
}
