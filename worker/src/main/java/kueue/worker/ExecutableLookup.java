package kueue.worker;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Finds the program of a job the way the exec call will, so that a missing or non-executable
 * program is reported as a clear failure before anything is started. Without a PATH the search uses
 * the same default as glibc's execvp.
 */
final class ExecutableLookup {
  static final String DEFAULT_PATH = "/bin:/usr/bin";

  private ExecutableLookup() {}

  /** The file exec would run for program, or null when there is none that can be executed. */
  static Path resolve(String program, Path cwd, String searchPath) {
    if (program == null || program.isEmpty()) {
      return null;
    }
    try {
      if (program.contains("/")) {
        Path file = cwd.resolve(program);
        return Files.isRegularFile(file) && Files.isExecutable(file) ? file : null;
      }
      for (String directory : (searchPath == null ? DEFAULT_PATH : searchPath).split(":", -1)) {
        Path candidate = cwd.resolve(directory.isEmpty() ? "." : directory).resolve(program);
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
      return null;
    } catch (InvalidPathException e) {
      return null;
    }
  }

  /** Why the program cannot be executed, or null when it can. */
  static String problem(String program, Path cwd, String searchPath) {
    if (program == null || program.isEmpty()) {
      return "command not found: (empty program name)";
    }
    try {
      if (program.contains("/")) {
        return problemWithFile(cwd.resolve(program), program);
      }
      boolean foundButNotExecutable = false;
      String path = searchPath == null ? DEFAULT_PATH : searchPath;
      for (String directory : path.split(":", -1)) {
        Path candidate = cwd.resolve(directory.isEmpty() ? "." : directory).resolve(program);
        if (Files.isRegularFile(candidate)) {
          if (Files.isExecutable(candidate)) {
            return null;
          }
          foundButNotExecutable = true;
        }
      }
      return (foundButNotExecutable ? "permission denied: " : "command not found: ") + program;
    } catch (InvalidPathException e) {
      return "command not found: " + program;
    }
  }

  private static String problemWithFile(Path file, String program) {
    if (!Files.exists(file)) {
      return "command not found: " + program;
    }
    if (Files.isDirectory(file) || !Files.isExecutable(file)) {
      return "permission denied: " + program;
    }
    return null;
  }
}
