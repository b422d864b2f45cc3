package kueue.client;

import java.io.PrintWriter;
import java.time.Duration;
import kueue.config.ConfigException;
import kueue.protocol.Message;

/**
 * Requests that outlast a server restart or a short network break: a submission, tried again with
 * the same submission key (so the server never creates its jobs twice), and waiting for jobs, which
 * go on while the server is away. Each keeps trying for the configured {@code [client]
 * server_restart_wait_seconds}; only a server that stays away longer is an error.
 */
final class ServerRestarts implements AutoCloseable {
  /** The first pause between tries; each next one doubles, up to {@link #LONGEST_PAUSE}. */
  static final Duration FIRST_PAUSE = Duration.ofMillis(100);

  static final Duration LONGEST_PAUSE = Duration.ofSeconds(2);

  private final CliContext context;
  private final Duration patience;
  private final PrintWriter err;
  private KueueClient client;
  private boolean ownsClient;

  /**
   * @param client the connection to start with, or null to connect on the first request
   */
  ServerRestarts(CliContext context, KueueClient client, Duration patience, PrintWriter err) {
    this.context = context;
    this.client = client;
    this.patience = patience;
    this.err = err;
  }

  /**
   * A new submission key: 128 random bits from the kernel. (java.util.UUID's generator took 35 ms
   * and more to start in a fresh JVM, half of what a whole {@code kueue cmd} takes.)
   */
  static String newSubmissionKey() {
    try (java.io.InputStream random = new java.io.FileInputStream("/dev/urandom")) {
      return java.util.HexFormat.of().formatHex(random.readNBytes(16));
    } catch (java.io.IOException e) {
      return ProcessHandle.current().pid()
          + "-"
          + System.currentTimeMillis()
          + "-"
          + System.nanoTime();
    }
  }

  /** The pause before try number {@code tries + 1}, after {@code tries} failed ones. */
  static Duration pauseAfter(int tries) {
    Duration pause = FIRST_PAUSE;
    for (int i = 1; i < tries && pause.compareTo(LONGEST_PAUSE) < 0; i++) {
      pause = pause.multipliedBy(2);
    }
    return pause.compareTo(LONGEST_PAUSE) < 0 ? pause : LONGEST_PAUSE;
  }

  /**
   * Sends the request, again on a new connection whenever the server cannot be reached or the
   * connection is lost, until it is answered or the patience has run out.
   *
   * @param whileAway what goes on meanwhile, for the line printed when the server goes away
   */
  <T extends Message.Reply> T request(Message.Request request, Class<T> expected, String whileAway)
      throws CliException {
    return request(request, expected, whileAway, null);
  }

  /** Like {@link #request(Message.Request, Class, String)}, handing on a wait's reasons. */
  <T extends Message.Reply> T request(
      Message.Request request,
      Class<T> expected,
      String whileAway,
      java.util.function.Consumer<Message.PendingReason> reasons)
      throws CliException {
    // The monotonic clock: the context's clock is the one tables show, which tests fix.
    Long giveUpAt = null;
    Long backAt = null;
    int tries = 0;
    while (true) {
      try {
        if (client == null) {
          client = context.connect();
          ownsClient = true;
          if (giveUpAt != null) {
            err.println("kueue: the Kueue server is back");
            err.flush();
            backAt = System.nanoTime();
          }
        }
        return client.request(request, expected, reasons);
      } catch (CliException e) {
        if (e.exitCode() != ExitCodes.SERVER_UNREACHABLE || patience.isZero()) {
          throw e;
        }
        dropClient();
        long now = System.nanoTime();
        if (backAt != null && now - backAt >= LONGEST_PAUSE.toNanos()) {
          // The server served for a while since it came back: this is another restart, with the
          // whole patience of its own (a wait of hours may ride out many). One that drops every
          // connection at once stays one absence, which ends in an error.
          giveUpAt = null;
          tries = 0;
        }
        backAt = null;
        if (giveUpAt == null) {
          giveUpAt = now + patience.toNanos();
          err.println(
              "kueue: "
                  + e.getMessage()
                  + "; trying again for up to "
                  + Durations.compact(patience)
                  + " ("
                  + whileAway
                  + ")");
          err.flush();
        } else if (now - giveUpAt >= 0) {
          throw new CliException(
              ExitCodes.SERVER_UNREACHABLE,
              "the Kueue server did not come back within " + Durations.compact(patience),
              e);
        }
        tries++;
        pause(pauseAfter(tries));
      } catch (ConfigException e) {
        throw new CliException(ExitCodes.USAGE_OR_CONFIG, e.getMessage(), e);
      }
    }
  }

  /** The connection now, made if there is none (for requests that reconnect by themselves). */
  KueueClient connection() throws CliException {
    if (client == null) {
      try {
        client = context.connect();
      } catch (ConfigException e) {
        throw new CliException(ExitCodes.USAGE_OR_CONFIG, e.getMessage(), e);
      }
      ownsClient = true;
    }
    return client;
  }

  private void dropClient() {
    if (client != null && ownsClient) {
      client.close();
    }
    client = null;
  }

  private static void pause(Duration pause) throws CliException {
    try {
      Thread.sleep(pause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.UNEXPECTED, "kueue: interrupted", e);
    }
  }

  @Override
  public void close() {
    dropClient();
  }
}
