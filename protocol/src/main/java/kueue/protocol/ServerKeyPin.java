package kueue.protocol;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;

/**
 * The pin file: the one server public key that clients and workers trust, as ssh's known_hosts
 * names a host's key. The server writes it when it starts, next to the configuration file, so with
 * a shared home every machine finds it; without one, the file is copied like the configuration.
 *
 * <p>Format: lines starting with {@code #} are comments; the first other line is {@code ed25519}
 * and the Base64 of the key's SubjectPublicKeyInfo, separated by a space.
 */
public final class ServerKeyPin {
  private static final String KEY_TYPE = "ed25519";

  /** The longest pin file read; a real one is about 300 bytes. */
  private static final long MAX_BYTES = 64 * 1024;

  private ServerKeyPin() {}

  /**
   * The pinned key's encoding.
   *
   * @throws ServerKeyException when the file is missing, unreadable, damaged or writable by others
   */
  public static byte[] read(Path file) throws ServerKeyException {
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw damaged(file, "it is larger than " + MAX_BYTES + " bytes");
      }
      refuseWritableByOthers(file);
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
          continue;
        }
        String[] fields = trimmed.split("\\s+");
        if (fields.length < 2 || !KEY_TYPE.equals(fields[0])) {
          throw damaged(file, "expected a line \"" + KEY_TYPE + " KEY\"");
        }
        try {
          return Base64.getDecoder().decode(fields[1]);
        } catch (IllegalArgumentException e) {
          throw damaged(file, "the key is not Base64");
        }
      }
      throw damaged(file, "it holds no key");
    } catch (NoSuchFileException e) {
      throw new ServerKeyException(
          ServerKeyException.Reason.NOT_PINNED,
          "no server key is pinned: "
              + file
              + " does not exist. The Kueue server writes it when it starts (next to its"
              + " configuration file); start the server first, or, if it runs with another home"
              + " directory, copy that file from the server's machine");
    } catch (AccessDeniedException e) {
      throw new ServerKeyException(
          ServerKeyException.Reason.NOT_PINNED, "cannot read the server key pin " + file);
    } catch (IOException e) {
      throw new ServerKeyException(
          ServerKeyException.Reason.NOT_PINNED,
          "cannot read the server key pin " + file + ": " + e.getMessage());
    }
  }

  private static ServerKeyException damaged(Path file, String why) {
    return new ServerKeyException(
        ServerKeyException.Reason.NOT_PINNED,
        "the server key pin "
            + file
            + " is damaged ("
            + why
            + "); delete it and restart the server, which writes it again");
  }

  /** Another user who may change the pin could make the programs trust their own server. */
  private static void refuseWritableByOthers(Path file) throws IOException, ServerKeyException {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException noPosix) {
      return;
    }
    if (permissions.contains(PosixFilePermission.GROUP_WRITE)
        || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new ServerKeyException(
          ServerKeyException.Reason.NOT_PINNED,
          "the server key pin "
              + file
              + " may be changed by other users (mode "
              + PosixFilePermissions.toString(permissions)
              + "); run: chmod 644 "
              + file);
    }
  }

  /**
   * Makes {@code file} name {@code identity}'s key, unless it already does.
   *
   * @param comment one line saying who wrote it, for a human reading the file
   * @return whether the file was written (false: it already named this key)
   */
  public static boolean publish(Path file, ServerIdentity identity, String comment)
      throws IOException {
    byte[] key = identity.encodedPublicKey();
    if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      try {
        if (Arrays.equals(read(file), key)) {
          return false;
        }
      } catch (ServerKeyException damagedOrLoose) {
        // Written again below, with safe permissions.
      }
    }
    return PrivateFiles.write(
        file,
        "# The Kueue server's public key: clients and workers using the configuration in this\n"
            + "# directory talk only to the server holding it. "
            + comment.replaceAll("[\\r\\n]", " ")
            + "\n"
            + KEY_TYPE
            + " "
            + Base64.getEncoder().encodeToString(key)
            + "\n",
        "rw-r--r--",
        true);
  }
}
