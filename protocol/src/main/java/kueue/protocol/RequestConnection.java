package kueue.protocol;

import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * A blocking connection from a program of the user (the {@code kueue} CLI, {@code
 * kueue_restart_workers}) to the server: one request, one reply. Every failure becomes a {@link
 * Failure} whose message says what went wrong and which setting to check, and whose kind decides
 * the program's exit code, so that both programs report a server they cannot ask alike.
 */
public final class RequestConnection implements AutoCloseable {
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Where to reach the server, how to prove the secret and which server key to trust, with the file
   * the values came from.
   */
  public record Settings(
      String serverName,
      int serverPort,
      String sharedSecret,
      boolean encrypted,
      Path serverKeyFile,
      Path configFile) {
    String address() {
      return serverName + ":" + serverPort;
    }
  }

  /** What went wrong, with the exit code of the program that could not ask the server. */
  public enum Kind {
    UNEXPECTED(1),
    /** The settings of the two ends disagree (encryption). */
    SETTINGS(2),
    UNREACHABLE(3),
    AUTHENTICATION(4),
    /** The server answered the request with a failure. */
    REFUSED(5);

    private final int exitCode;

    Kind(int exitCode) {
      this.exitCode = exitCode;
    }

    public int exitCode() {
      return exitCode;
    }
  }

  /** A request that could not be made or was refused; the message is for the user. */
  public static final class Failure extends Exception {
    private final Kind kind;

    Failure(Kind kind, String message) {
      super(message);
      this.kind = kind;
    }

    Failure(Kind kind, String message, Throwable cause) {
      super(message, cause);
      this.kind = kind;
    }

    public Kind kind() {
      return kind;
    }
  }

  private final PeerConnection connection;
  private final String address;

  /** Set once a request went through completely; the connection can then serve another. */
  private boolean answeredCompletely;

  private RequestConnection(PeerConnection connection, String address) {
    this.connection = connection;
    this.address = address;
  }

  /** Makes requests over a connection that is already open and authenticated. */
  public static RequestConnection over(PeerConnection connection, Settings settings) {
    return new RequestConnection(connection, settings.address());
  }

  /**
   * Connects and authenticates.
   *
   * @param software this end's name and version, which the server logs
   */
  public static RequestConnection connect(Settings settings, String software) throws Failure {
    String address = settings.address();
    String where = "server_name and server_port in " + settings.configFile();
    try {
      return new RequestConnection(openRetryingHandshakes(settings, software), address);
    } catch (EncryptionMismatchException e) {
      throw new Failure(
          Kind.SETTINGS,
          "cannot talk to the Kueue server at "
              + address
              + ": "
              + e.getMessage()
              + " (this client uses encryption = \""
              + (settings.encrypted() ? "tls" : "none")
              + "\" from "
              + settings.configFile()
              + ")",
          e);
    } catch (ServerKeyException e) {
      throw new Failure(
          e.reason() == ServerKeyException.Reason.NOT_PINNED ? Kind.SETTINGS : Kind.UNREACHABLE,
          "cannot trust the Kueue server at " + address + ": " + e.getMessage(),
          e);
    } catch (PeerConnection.AuthenticationException e) {
      throw new Failure(
          Kind.AUTHENTICATION,
          "authentication with the Kueue server at "
              + address
              + " failed: "
              + e.getMessage()
              + "; shared_secret in "
              + settings.configFile()
              + " must be the same as the server's",
          e);
    } catch (ConnectException e) {
      throw unreachable(address, "connection refused; is kueue_server running? Check " + where, e);
    } catch (UnknownHostException e) {
      throw unreachable(address, "unknown host " + settings.serverName() + "; check " + where, e);
    } catch (NoRouteToHostException e) {
      throw unreachable(address, "no route to host; check " + where, e);
    } catch (SocketTimeoutException e) {
      throw unreachable(
          address, "no answer within " + CONNECT_TIMEOUT.toSeconds() + "s; check " + where, e);
    } catch (PeerConnection.ConnectionClosedException e) {
      throw unreachable(
          address, "the server closed the connection during the handshake; check " + where, e);
    } catch (IOException e) {
      throw unreachable(address, describe(e) + "; check " + where, e);
    } catch (ProtocolException e) {
      throw new Failure(
          Kind.UNEXPECTED,
          "the server at " + address + " does not speak the Kueue protocol: " + e.getMessage(),
          e);
    }
  }

  /** How often a connection closed during the handshake is tried again, see below. */
  private static final int HANDSHAKE_TRIES = 5;

  /**
   * Opens and authenticates. A server flooded with connections that never authenticate makes room
   * by closing unauthenticated ones at random, ours included while its handshake runs; nothing was
   * asked yet, so trying again is safe, and a few tries almost always get through.
   */
  private static PeerConnection openRetryingHandshakes(Settings settings, String software)
      throws IOException, ProtocolException {
    TransportSecurity transport =
        TransportSecurity.forClient(settings.encrypted(), settings.serverKeyFile());
    for (int attempt = 1; ; attempt++) {
      try {
        return PeerConnection.open(
            settings.serverName(),
            settings.serverPort(),
            settings.sharedSecret(),
            "client",
            software,
            CONNECT_TIMEOUT,
            transport);
      } catch (PeerConnection.ConnectionClosedException | java.net.SocketException closed) {
        if (attempt >= HANDSHAKE_TRIES
            || closed instanceof ConnectException
            || closed instanceof NoRouteToHostException) {
          throw closed;
        }
        try {
          Thread.sleep(20L << attempt);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw closed;
        }
      }
    }
  }

  private static Failure unreachable(String address, String why, Exception cause) {
    return new Failure(
        Kind.UNREACHABLE, "cannot reach the Kueue server at " + address + ": " + why, cause);
  }

  /** Sends one request and returns its reply; a {@link Message.Failure} becomes a failure. */
  public Message.Reply request(Message.Request request) throws Failure {
    return request(request, (Consumer<Message.PendingReason>) null);
  }

  /**
   * Like {@link #request(Message.Request)}, handing each {@link Message.PendingReason} that comes
   * before the reply to {@code reasons} (for a wait that asked for them).
   */
  public Message.Reply request(Message.Request request, Consumer<Message.PendingReason> reasons)
      throws Failure {
    Message answer;
    answeredCompletely = false;
    try {
      connection.send(request);
      answer = connection.receive();
      while (reasons != null && answer instanceof Message.PendingReason reason) {
        reasons.accept(reason);
        answer = connection.receive();
      }
    } catch (IOException e) {
      throw new Failure(
          Kind.UNREACHABLE,
          "lost the connection to the Kueue server at " + address + ": " + describe(e),
          e);
    } catch (ProtocolException e) {
      throw new Failure(
          Kind.UNEXPECTED,
          "the Kueue server at " + address + " sent something unexpected: " + e.getMessage(),
          e);
    }
    answeredCompletely = true;
    return switch (answer) {
      case Message.Failure failure ->
          throw new Failure(
              "auth".equals(failure.code()) ? Kind.AUTHENTICATION : Kind.REFUSED,
              failure.message() == null || failure.message().isBlank()
                  ? "the server refused the request (" + failure.code() + ")"
                  : failure.message());
      case Message.Reply reply -> reply;
      default ->
          throw new Failure(
              Kind.UNEXPECTED,
              "the Kueue server at "
                  + address
                  + " answered with "
                  + answer.getClass().getSimpleName()
                  + ", which is not a reply");
    };
  }

  /** Like {@link #request(Message.Request)}, checking the kind of reply. */
  public <T extends Message.Reply> T request(Message.Request request, Class<T> expected)
      throws Failure {
    return request(request, expected, null);
  }

  /** Like {@link #request(Message.Request, Consumer)}, checking the kind of reply. */
  public <T extends Message.Reply> T request(
      Message.Request request, Class<T> expected, Consumer<Message.PendingReason> reasons)
      throws Failure {
    Message.Reply reply = request(request, reasons);
    if (!expected.isInstance(reply)) {
      throw new Failure(
          Kind.UNEXPECTED,
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

  /**
   * Whether the last request got its whole answer, so that the connection is in step and may serve
   * another request.
   */
  public boolean answeredCompletely() {
    return answeredCompletely;
  }

  /** The connection itself, for keeping it open after {@link #answeredCompletely()}. */
  public PeerConnection connection() {
    return connection;
  }

  @Override
  public void close() {
    connection.close();
  }

  private static String describe(IOException e) {
    String message = e.getMessage();
    return message == null || message.isBlank() ? e.getClass().getSimpleName() : message;
  }
}
