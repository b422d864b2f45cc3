package kueue.protocol;

/**
 * The server could not be trusted before anything was sent to it: no usable pin file, or the server
 * at the address holds another key than the pinned one.
 */
public final class ServerKeyException extends PeerConnection.AuthenticationException {
  /** Why the server was not trusted. */
  public enum Reason {
    /** The pin file is missing, unreadable or damaged: nothing can be trusted yet. */
    NOT_PINNED,
    /**
     * Something answers at the server's address with another key: another program holds the port
     * (perhaps while the real server is down), or the server's data directory was replaced.
     */
    MISMATCH
  }

  private final Reason reason;

  public ServerKeyException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
