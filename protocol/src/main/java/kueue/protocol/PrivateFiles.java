package kueue.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Key files written whole or not at all, with their mode from the first byte. */
final class PrivateFiles {
  private PrivateFiles() {}

  /**
   * Writes {@code text} to {@code file}, in a directory created 0700 if missing: under a temporary
   * name with {@code mode} (e.g. "rw-------"), then moved into place, so that a reader never sees
   * half a file and nobody else can read it even for a moment.
   *
   * @param replace whether an existing file is replaced; if not, an existing one is kept
   * @return whether the file was written (false: it existed and {@code replace} was false)
   */
  static boolean write(Path file, String text, String mode, boolean replace) throws IOException {
    Path directory = file.toAbsolutePath().getParent();
    Files.createDirectories(
        directory,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path temporary =
        Files.createTempFile(
            directory,
            "." + file.getFileName(),
            ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    try {
      Files.writeString(temporary, text, StandardCharsets.UTF_8);
      try {
        if (replace) {
          Files.move(
              temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
          Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        }
        return true;
      } catch (FileAlreadyExistsException other) {
        return false;
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }
}
