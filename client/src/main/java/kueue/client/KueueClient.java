package kueue.client;

import java.nio.file.Path;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.RequestConnection;

/**
 * A blocking connection to the server: one request, one reply. Every failure becomes a {@link
 * CliException} whose message says what went wrong and which setting to check. In the CLI daemon,
 * connections that answered completely are kept open for the next command ({@link
 * ServerConnections}).
 */
public final class KueueClient implements AutoCloseable {
  private final RequestConnection connection;
  private final ServerConnections pool;
  private final ServerConnections.Key poolKey;

  private KueueClient(
      RequestConnection connection, ServerConnections pool, ServerConnections.Key poolKey) {
    this.connection = connection;
    this.pool = pool;
    this.poolKey = poolKey;
  }

  /**
   * Connects and authenticates.
   *
   * @param configFile named in error messages so the user knows where to fix the settings
   */
  public static KueueClient connect(KueueConfig.Common common, Path configFile)
      throws CliException {
    RequestConnection.Settings settings = settings(common, configFile);
    ServerConnections pool = ServerConnections.shared();
    ServerConnections.Key poolKey = null;
    if (pool != null) {
      poolKey =
          new ServerConnections.Key(
              common.serverName(),
              common.serverPort(),
              common.sharedSecret(),
              common.encrypted(),
              common.serverKeyFile());
      PeerConnection open = pool.take(poolKey, System.nanoTime());
      if (open != null) {
        return new KueueClient(RequestConnection.over(open, settings), pool, poolKey);
      }
    }
    try {
      return new KueueClient(
          RequestConnection.connect(settings, "kueue " + KueueVersion.VERSION), pool, poolKey);
    } catch (RequestConnection.Failure e) {
      throw asCliException(e);
    }
  }

  private static RequestConnection.Settings settings(KueueConfig.Common common, Path configFile) {
    return new RequestConnection.Settings(
        common.serverName(),
        common.serverPort(),
        common.sharedSecret(),
        common.encrypted(),
        common.serverKeyFile(),
        configFile);
  }

  private static CliException asCliException(RequestConnection.Failure failure) {
    return new CliException(failure.kind().exitCode(), failure.getMessage(), failure.getCause());
  }

  /** Sends one request and returns its reply; a {@link Message.Failure} becomes an exception. */
  public Message.Reply request(Message.Request request) throws CliException {
    return request(request, Message.Reply.class);
  }

  /** Like {@link #request(Message.Request)}, checking the kind of reply. */
  public <T extends Message.Reply> T request(Message.Request request, Class<T> expected)
      throws CliException {
    return request(request, expected, null);
  }

  /** Like {@link #request(Message.Request, Class)}, handing on the reasons a wait sends first. */
  public <T extends Message.Reply> T request(
      Message.Request request,
      Class<T> expected,
      java.util.function.Consumer<Message.PendingReason> reasons)
      throws CliException {
    try {
      return connection.request(request, expected, reasons);
    } catch (RequestConnection.Failure e) {
      throw asCliException(e);
    } finally {
      if (connection.answeredCompletely()) {
        StartupTrace.mark("request answered");
      }
    }
  }

  /**
   * How long a reply may take before the connection counts as lost (zero: forever), for requests
   * whose answer is bounded in time, so that a connection that died silently is noticed.
   */
  void receiveTimeout(java.time.Duration timeout) {
    try {
      connection.connection().setReceiveTimeout(timeout);
    } catch (java.io.IOException e) {
      // closed: the next request says so
    }
  }

  @Override
  public void close() {
    // An interrupted command (its user pressed Ctrl-C) may have left a request unanswered.
    if (pool != null
        && connection.answeredCompletely()
        && !Thread.currentThread().isInterrupted()) {
      pool.giveBack(poolKey, connection.connection(), System.nanoTime());
    } else {
      connection.close();
    }
  }
}
