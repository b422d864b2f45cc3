package kueue.client.daemon;

import java.io.File;
import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Where the CLI daemon of this user and this installation listens, and who may talk to it.
 *
 * <p>Its socket and pipes live in a directory only its owner can enter: {@code
 * $XDG_RUNTIME_DIR/kueue} when the session has one, else {@code $TMPDIR/kueue-USER} (a local
 * directory even when the home is shared between machines, so each machine has its own daemon), or,
 * when that one exists but is not the user's own and closed to others, {@code
 * ~/.cache/kueue/cli-daemon-HOST}. Their names are derived from the class path's files and their
 * sizes and times, so that a reinstalled or different build never talks to a daemon running older
 * code. The relay checks the directory before using either; the daemon also checks the user id of
 * each socket peer (SO_PEERCRED): it runs commands with the user's secret, and the relay sends it
 * the user's environment.
 */
final class LocalEndpoint {
  private static final Set<PosixFilePermission> OWNER_ONLY =
      EnumSet.of(
          PosixFilePermission.OWNER_READ,
          PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE);

  private final Path directory;
  private final String name;

  private LocalEndpoint(Path directory, String name) {
    this.directory = directory;
    this.name = name;
  }

  /** The endpoint for the whole CLI's class path (see {@link CliRelay#cliClassPath}). */
  static LocalEndpoint forThisInstallation(Map<String, String> environment) {
    return new LocalEndpoint(directory(environment), "cli-" + buildId(CliRelay.cliClassPath()));
  }

  Path directory() {
    return directory;
  }

  Path socket() {
    return directory.resolve(name + ".sock");
  }

  /** The daemon's pairs of named pipes ({@link PipeChannel}), the way most commands come in. */
  Path pipes() {
    return directory.resolve(name + ".pipes");
  }

  /** Held by the running daemon, so that two starting at once do not both listen. */
  Path lockFile() {
    return directory.resolve(name + ".lock");
  }

  Path logFile() {
    return directory.resolve(name + ".log");
  }

  static Path directory(Map<String, String> environment) {
    String runtime = environment.get("XDG_RUNTIME_DIR");
    if (runtime != null && runtime.startsWith("/") && Files.isDirectory(Path.of(runtime))) {
      return Path.of(runtime, "kueue");
    }
    String temporary = environment.get("TMPDIR");
    if (temporary == null || !temporary.startsWith("/")) {
      temporary = "/tmp";
    }
    Path shared = Path.of(temporary, "kueue-" + System.getProperty("user.name"));
    if (!Files.exists(shared, LinkOption.NOFOLLOW_LINKS) || isPrivate(shared)) {
      return shared;
    }
    // Someone else made it first (anybody may create names in /tmp), or left it open: its socket
    // could be theirs. The user's cache directory is the user's alone; a directory per machine,
    // as the home may be shared.
    return cacheDirectory(environment).resolve("cli-daemon-" + hostname());
  }

  private static Path cacheDirectory(Map<String, String> environment) {
    String cache = environment.get("XDG_CACHE_HOME");
    if (cache != null && cache.startsWith("/")) {
      return Path.of(cache, "kueue");
    }
    String home = environment.getOrDefault("HOME", System.getProperty("user.home"));
    return Path.of(home, ".cache", "kueue");
  }

  /** The kernel's host name, without a DNS lookup. */
  private static String hostname() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      return name.isEmpty() || name.contains("/") ? "localhost" : name;
    } catch (IOException | RuntimeException e) {
      return "localhost";
    }
  }

  /**
   * Identifies the installed code: each class path entry with its size and modification time.
   * Collisions would only make two builds share a daemon, so a 64-bit FNV-1a hash is enough and
   * avoids loading a message digest on every command.
   */
  static String buildId(String classPath) {
    StringBuilder identity = new StringBuilder();
    for (String entry : classPath.split(File.pathSeparator)) {
      // Absolute, as the daemon gets it (it runs in "/").
      Path path = Path.of(entry).toAbsolutePath();
      identity.append(path).append('\0');
      try {
        BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class);
        identity
            .append(attributes.size())
            .append('\0')
            .append(attributes.lastModifiedTime().toMillis());
      } catch (IOException | RuntimeException missing) {
        identity.append('-');
      }
      identity.append('\n');
    }
    long hash = 0xcbf29ce484222325L;
    for (byte b : identity.toString().getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    String hex = Long.toHexString(hash);
    return "0".repeat(16 - hex.length()) + hex;
  }

  /**
   * Creates the directory if needed and says whether it is safe: a real directory (not a link),
   * owned by this user, that nobody else may enter.
   */
  boolean prepareDirectory() throws IOException {
    if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
      // The user's cache directory may not exist yet; /tmp and the runtime directory do.
      Files.createDirectories(directory.getParent());
      try {
        Files.createDirectory(
            directory, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } catch (java.nio.file.FileAlreadyExistsException createdMeanwhile) {
        // Checked below like any existing directory.
      }
    }
    PosixFileAttributes attributes =
        Files.readAttributes(directory, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return attributes.isDirectory()
        && attributes.owner().getName().equals(System.getProperty("user.name"))
        && attributes.permissions().equals(OWNER_ONLY);
  }

  /**
   * Whether the directory is this user's and closed to others, so that the socket in it can only be
   * this user's daemon: nobody else can create or replace a file there. Two stat calls, cheaper
   * than asking the connected socket for its peer's credentials on every command.
   */
  boolean isPrivate() {
    return isPrivate(directory);
  }

  private static boolean isPrivate(Path directory) {
    try {
      Object self = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      Map<String, Object> attributes =
          Files.readAttributes(directory, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
      int mode = (Integer) attributes.get("mode");
      return self.equals(attributes.get("uid"))
          && (mode & 0170000) == 0040000
          && (mode & 0077) == 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Whether the process at the other end of a connected Unix socket runs as this user. */
  static boolean peerIsThisUser(SocketChannel channel) {
    try {
      UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
      return peer.user().getName().equals(System.getProperty("user.name"));
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }
}
