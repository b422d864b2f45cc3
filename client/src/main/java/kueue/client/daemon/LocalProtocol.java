package kueue.client.daemon;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code kueue} and the CLI daemon say to each other over a pair of pipes or the Unix socket
 * (docs/CLI-DAEMON.md). The relay sends one {@link Request}; then both sides send frames, a type
 * byte and a length-prefixed payload, until the daemon's {@link #EXIT}.
 */
final class LocalProtocol {
  /** "KQL" and the version of this protocol: both ends come from the same build. */
  static final int MAGIC = 0x4b514c02;

  /** Arguments and environment together; Linux's own limit for both is usually 2 MiB. */
  static final int MAX_REQUEST_BYTES = 16 << 20;

  static final int MAX_FRAME_BYTES = 1 << 20;

  /** Daemon to relay: bytes for the relay's stdout. */
  static final byte STDOUT = 1;

  /** Daemon to relay: bytes for the relay's stderr. */
  static final byte STDERR = 2;

  /** Daemon to relay: the command reads stdin (cmd --file -); send it. */
  static final byte STDIN_WANTED = 3;

  /** Daemon to relay: the command's exit code, a 4-byte int; the last frame. */
  static final byte EXIT = 4;

  /** Relay to daemon: bytes read from the relay's stdin. */
  static final byte STDIN = 5;

  /** Relay to daemon: the relay's stdin is at its end. */
  static final byte STDIN_END = 6;

  /**
   * Daemon to relay: what to do on Ctrl-C from now on: a 4-byte exit code, then the UTF-8 text to
   * print on stderr before exiting with it; an empty payload goes back to Ctrl-C's usual end.
   */
  static final byte INTERRUPT_HINT = 7;

  private LocalProtocol() {}

  /**
   * One command, with what it needs from the process the user started (its umask, which {@code cmd}
   * gives its jobs, null where unknown).
   */
  record Request(
      String workingDirectory,
      List<String> arguments,
      Map<String, String> environment,
      boolean stdoutIsTerminal,
      String terminalDevice,
      Integer umask) {

    void writeTo(DataOutputStream out) throws IOException {
      out.writeInt(MAGIC);
      writeString(out, workingDirectory);
      out.writeInt(arguments.size());
      for (String argument : arguments) {
        writeString(out, argument);
      }
      out.writeInt(environment.size());
      for (Map.Entry<String, String> variable : environment.entrySet()) {
        writeString(out, variable.getKey());
        writeString(out, variable.getValue());
      }
      out.writeBoolean(stdoutIsTerminal);
      writeString(out, terminalDevice);
      out.writeInt(umask == null ? -1 : umask);
      out.flush();
    }

    static Request readFrom(DataInputStream in) throws IOException {
      if (in.readInt() != MAGIC) {
        throw new IOException("not a request of this version of kueue");
      }
      int[] budget = {MAX_REQUEST_BYTES};
      String directory = readString(in, budget);
      int count = readCount(in, budget);
      List<String> arguments = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        arguments.add(readString(in, budget));
      }
      count = readCount(in, budget);
      Map<String, String> environment = new LinkedHashMap<>();
      for (int i = 0; i < count; i++) {
        environment.put(readString(in, budget), readString(in, budget));
      }
      boolean terminal = in.readBoolean();
      String device = readString(in, budget);
      int umask = in.readInt();
      return new Request(
          directory, arguments, environment, terminal, device, umask < 0 ? null : umask & 0777);
    }
  }

  private static void writeString(DataOutputStream out, String value) throws IOException {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static int readCount(DataInputStream in, int[] budget) throws IOException {
    int count = in.readInt();
    // Every item takes at least its 4-byte length, so this bounds the lists before allocating.
    if (count < 0 || (long) count * 4 > budget[0]) {
      throw new IOException("request larger than " + MAX_REQUEST_BYTES + " bytes");
    }
    return count;
  }

  private static String readString(DataInputStream in, int[] budget) throws IOException {
    int length = in.readInt();
    budget[0] -= 4;
    if (length < 0 || length > budget[0]) {
      throw new IOException("request larger than " + MAX_REQUEST_BYTES + " bytes");
    }
    budget[0] -= length;
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** Writes one frame; callers on several threads hold the stream's lock. */
  static void writeFrame(DataOutputStream out, byte type, byte[] payload, int offset, int length)
      throws IOException {
    out.writeByte(type);
    out.writeInt(length);
    out.write(payload, offset, length);
    out.flush();
  }

  /** A frame's payload after its type byte has been read, or an error for one too large. */
  static byte[] readPayload(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > MAX_FRAME_BYTES) {
      throw new IOException("frame of " + length + " bytes, limit " + MAX_FRAME_BYTES);
    }
    byte[] payload = new byte[length];
    in.readFully(payload);
    return payload;
  }

  /** The next frame's type, or -1 at the end of the stream. */
  static int readType(DataInputStream in) throws IOException {
    try {
      return in.readUnsignedByte();
    } catch (EOFException end) {
      return -1;
    }
  }
}
