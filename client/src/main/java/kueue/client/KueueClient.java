package kueue.client;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import kueue.protocol.EncryptionMismatchException;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.ProtocolException;
import kueue.protocol.TransportSecurity;

/**
 * A blocking connection to the server: one request, one reply. Every failure becomes a {@link
 * CliException} whose message says what went wrong and which setting to check.
 */
public final class KueueClient implements AutoCloseable {
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  private final PeerConnection connection;
  private final String address;
  private final ServerConnections pool;
  private final ServerConnections.Key poolKey;
  /** Set once a request went through completely; the connection can then serve another. */
  private boolean reusable;

  private KueueClient(
      PeerConnection connection, String address, ServerConnections pool, ServerConnections.Key poolKey) {
    this.connection = connection;
    this.address = address;
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
    return connect(common, configFile, null);
  }

  /**
   * Connects and authenticates.
   *
   * @param configFile named in error messages so the user knows where to fix the settings
   * @param keyCacheDirectory where the server's public key is kept between runs, or null
   */
  public static KueueClient connect(
      KueueConfig.Common common, Path configFile, Path keyCacheDirectory) throws CliException {
    String address = common.serverName() + ":" + common.serverPort();
    String settings = "server_name and server_port in " + configFile;
    ServerConnections pool = ServerConnections.shared();
    ServerConnections.Key poolKey = null;
    if (pool != null) {
      poolKey =
          new ServerConnections.Key(
              common.serverName(),
              common.serverPort(),
              common.sharedSecret(),
              common.encrypted(),
              keyCacheDirectory);
      PeerConnection open = pool.take(poolKey, System.nanoTime());
      if (open != null) {
        return new KueueClient(open, address, pool, poolKey);
      }
    }
    try {
      PeerConnection connection =
          PeerConnection.open(
              common.serverName(),
              common.serverPort(),
              common.sharedSecret(),
              "client",
              "kueue " + KueueVersion.VERSION,
              CONNECT_TIMEOUT,
              TransportSecurity.of(common.encrypted(), common.sharedSecret(), keyCacheDirectory));
      return new KueueClient(connection, address, pool, poolKey);
    } catch (EncryptionMismatchException e) {
      throw new CliException(
          ExitCodes.USAGE_OR_CONFIG,
          "cannot talk to the Kueue server at "
              + address
              + ": "
              + e.getMessage()
              + " (this client uses encryption = \""
              + (common.encrypted() ? "tls" : "none")
              + "\" from "
              + configFile
              + ")",
          e);
    } catch (PeerConnection.AuthenticationException e) {
      throw new CliException(
          ExitCodes.AUTHENTICATION_FAILED,
          "authentication with the Kueue server at "
              + address
              + " failed: "
              + e.getMessage()
              + "; shared_secret in "
              + configFile
              + " must be the same as the server's",
          e);
    } catch (ConnectException e) {
      throw unreachable(
          address, "connection refused; is kueue_server running? Check " + settings, e);
    } catch (UnknownHostException e) {
      throw unreachable(address, "unknown host " + common.serverName() + "; check " + settings, e);
    } catch (NoRouteToHostException e) {
      throw unreachable(address, "no route to host; check " + settings, e);
    } catch (SocketTimeoutException e) {
      throw unreachable(
          address, "no answer within " + CONNECT_TIMEOUT.toSeconds() + "s; check " + settings, e);
    } catch (PeerConnection.ConnectionClosedException e) {
      throw unreachable(
          address, "the server closed the connection during the handshake; check " + settings, e);
    } catch (IOException e) {
      throw unreachable(address, describe(e) + "; check " + settings, e);
    } catch (ProtocolException e) {
      throw new CliException(
          ExitCodes.UNEXPECTED,
          "the server at " + address + " does not speak the Kueue protocol: " + e.getMessage(),
          e);
    }
  }

  private static CliException unreachable(String address, String why, Exception cause) {
    return new CliException(
        ExitCodes.SERVER_UNREACHABLE,
        "cannot reach the Kueue server at " + address + ": " + why,
        cause);
  }

  /** Sends one request and returns its reply; a {@link Message.Failure} becomes an exception. */
  public Message.Reply request(Message.Request request) throws CliException {
    Message answer;
    reusable = false;
    try {
      connection.send(request);
      answer = connection.receive();
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.SERVER_UNREACHABLE,
          "lost the connection to the Kueue server at " + address + ": " + describe(e),
          e);
    } catch (ProtocolException e) {
      throw new CliException(
          ExitCodes.UNEXPECTED,
          "the Kueue server at " + address + " sent something unexpected: " + e.getMessage(),
          e);
    }
    StartupTrace.mark("request answered");
    reusable = true;
    return switch (answer) {
      case Message.Failure failure ->
          throw new CliException(
              "auth".equals(failure.code())
                  ? ExitCodes.AUTHENTICATION_FAILED
                  : ExitCodes.REQUEST_FAILED,
              failure.message() == null || failure.message().isBlank()
                  ? "the server refused the request (" + failure.code() + ")"
                  : failure.message());
      case Message.Reply reply -> reply;
      default ->
          throw new CliException(
              ExitCodes.UNEXPECTED,
              "the Kueue server at "
                  + address
                  + " answered with "
                  + answer.getClass().getSimpleName()
                  + ", which is not a reply");
    };
  }

  /** Like {@link #request(Message.Request)}, checking the kind of reply. */
  public <T extends Message.Reply> T request(Message.Request request, Class<T> expected)
      throws CliException {
    Message.Reply reply = request(request);
    if (!expected.isInstance(reply)) {
      throw new CliException(
          ExitCodes.UNEXPECTED,
          "the Kueue server at "
              + address
              + " answered "
              + request.getClass().getSimpleName()
              + " with "
              + reply.getClass().getSimpleName()
              + " instead of "
              + expected.getSimpleName());
    }
    return expected.cast(reply);
  }

  @Override
  public void close() {
    // An interrupted command (its user pressed Ctrl-C) may have left a request unanswered.
    if (pool != null && reusable && !Thread.currentThread().isInterrupted()) {
      pool.giveBack(poolKey, connection, System.nanoTime());
    } else {
      connection.close();
    }
  }

  private static String describe(IOException e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
