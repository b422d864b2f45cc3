package kueue.client.daemon;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The relay's end of a connection to the CLI daemon over a pair of named pipes from the daemon's
 * {@link PipePool}. Opening two files costs the relay well under a millisecond, where a Unix socket
 * first initialises the JDK's socket channels and a secure random generator (some 30 ms in a JVM
 * that has just started).
 *
 * <p>The daemon keeps a few pairs ready, each with a token file in {@code spare/}; a relay claims
 * one by deleting its token (only one relay's delete succeeds), then opens the pipe it writes,
 * which the daemon is already waiting to read, and the pipe it reads, which the daemon opens for
 * writing as soon as the first opened. The request is sent only once both are open, so a relay that
 * gives up before that never runs its command twice.
 */
final class PipeChannel {
  /** The directory of tokens, one per pair that no relay has claimed yet. */
  static final String SPARE = "spare";

  final InputStream fromDaemon;
  final OutputStream toDaemon;

  private PipeChannel(InputStream fromDaemon, OutputStream toDaemon) {
    this.fromDaemon = fromDaemon;
    this.toDaemon = toDaemon;
  }

  /** The pipe a relay writes to the daemon through. */
  static File toDaemonPipe(File directory, String pair) {
    return new File(directory, pair + ".in");
  }

  /** The pipe the daemon writes to the relay through. */
  static File fromDaemonPipe(File directory, String pair) {
    return new File(directory, pair + ".out");
  }

  /**
   * Claims a spare pair: the name of the pair whose token this call deleted, or null when there is
   * none (no daemon, or more relays at once than spare pairs). The search starts at a place that
   * depends on {@code seed}, so that relays started together try different tokens.
   */
  static String claim(File directory, long seed) {
    File spare = new File(directory, SPARE);
    String[] tokens = spare.list();
    if (tokens == null) {
      return null;
    }
    for (int i = 0; i < tokens.length; i++) {
      String token = tokens[(int) Math.floorMod(seed + i, (long) tokens.length)];
      if (new File(spare, token).delete()) {
        return token;
      }
    }
    return null;
  }

  /**
   * Opens a claimed pair. Blocks until the daemon has its ends open: at once when it serves, for
   * ever when it died after making the token, which is why the relay bounds this call.
   */
  static PipeChannel open(File directory, String pair) throws IOException {
    OutputStream toDaemon = new FileOutputStream(toDaemonPipe(directory, pair));
    try {
      return new PipeChannel(new FileInputStream(fromDaemonPipe(directory, pair)), toDaemon);
    } catch (IOException e) {
      toDaemon.close();
      throw e;
    }
  }
}
