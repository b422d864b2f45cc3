package kueue.model;

import java.util.Locale;

/** When a dependency is met, by how the job it names ended (Slurm's names). */
public enum DependencyKind {
  /** The parent succeeded (exit code 0). */
  AFTEROK,
  /** The parent ended in any way: finished, failed or canceled. */
  AFTERANY,
  /** The parent ended without succeeding: failed, canceled or lost. */
  AFTERNOTOK;

  /** The name as written on the command line: afterok, afterany, afternotok. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether a parent that ended with this outcome meets the dependency; when not, it never will.
   *
   * @param succeeded whether the parent finished with exit code 0
   */
  public boolean metBy(boolean succeeded) {
    return switch (this) {
      case AFTEROK -> succeeded;
      case AFTERANY -> true;
      case AFTERNOTOK -> !succeeded;
    };
  }
}
