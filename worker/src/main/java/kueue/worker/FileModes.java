package kueue.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/** Umasks and the modes of files created with them. */
final class FileModes {
  private static final PosixFilePermission[] BY_BIT = {
    PosixFilePermission.OTHERS_EXECUTE,
    PosixFilePermission.OTHERS_WRITE,
    PosixFilePermission.OTHERS_READ,
    PosixFilePermission.GROUP_EXECUTE,
    PosixFilePermission.GROUP_WRITE,
    PosixFilePermission.GROUP_READ,
    PosixFilePermission.OWNER_EXECUTE,
    PosixFilePermission.OWNER_WRITE,
    PosixFilePermission.OWNER_READ
  };

  private FileModes() {}

  /**
   * This process's umask, from the "Umask:" line of /proc/self/status (Java has no call for it, and
   * umask(2) reads it only by changing it); null where the system does not show it.
   */
  static Integer processUmask() {
    try {
      for (String line :
          Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.US_ASCII)) {
        if (line.startsWith("Umask:")) {
          int mask = Integer.parseInt(line.substring("Umask:".length()).strip(), 8);
          return mask >= 0 && mask <= 0777 ? mask : null;
        }
      }
    } catch (IOException | RuntimeException e) {
      // unknown
    }
    return null;
  }

  /** The mode of a file that a program creates (0666) under umask, or 0666 for no umask. */
  static int created(Integer umask) {
    return 0666 & ~(umask == null ? 0 : umask);
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
    for (int bit = 0; bit < BY_BIT.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        permissions.add(BY_BIT[bit]);
      }
    }
    return permissions;
  }

  static FileAttribute<Set<PosixFilePermission>> asAttribute(int mode) {
    return PosixFilePermissions.asFileAttribute(permissions(mode));
  }
}
