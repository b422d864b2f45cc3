package kueue.worker;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Where programs named without a slash were last found in the PATH, as a shell's hash table keeps
 * them, so that a batch of thousands of jobs of one program does not search the PATH for each: with
 * a PATH of a dozen directories the search was a tenth of the worker's work per short job. Unlike a
 * shell, which keeps a location until {@code hash -r}, a location is used for at most {@link
 * #REMEMBER_NANOS}, and only while the file is still executable: a program newly put in an earlier
 * PATH directory is found within that time, a removed one at once.
 */
final class ProgramLocations {
  static final long REMEMBER_NANOS = 1_000_000_000L;

  /** Distinct programs, working directories and PATHs kept at once; all are forgotten beyond it. */
  static final int MAX_ENTRIES = 1024;

  private record Key(String program, Path cwd, String searchPath) {}

  private record Found(Path file, long foundAt) {}

  private final ConcurrentHashMap<Key, Found> found = new ConcurrentHashMap<>();
  private final LongSupplier nanoTime;

  ProgramLocations(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  ProgramLocations() {
    this(System::nanoTime);
  }

  /** As {@link ExecutableLookup#resolve}, from a recent search when there is one. */
  Path resolve(String program, Path cwd, String searchPath) {
    if (program == null || program.isEmpty() || program.contains("/")) {
      return ExecutableLookup.resolve(program, cwd, searchPath);
    }
    // The working directory is part of the key: a relative or empty PATH entry is searched there.
    Key key = new Key(program, cwd, searchPath);
    long now = nanoTime.getAsLong();
    Found recent = found.get(key);
    if (recent != null
        && now - recent.foundAt() < REMEMBER_NANOS
        && Files.isExecutable(recent.file())) {
      return recent.file();
    }
    Path file = ExecutableLookup.resolve(program, cwd, searchPath);
    if (file == null) {
      found.remove(key);
      return null;
    }
    if (found.size() >= MAX_ENTRIES) {
      found.clear();
    }
    found.put(key, new Found(file, now));
    return file;
  }

  /** How many locations are remembered now. */
  int size() {
    return found.size();
  }
}
