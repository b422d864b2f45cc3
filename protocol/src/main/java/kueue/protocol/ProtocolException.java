package kueue.protocol;

/** The peer broke the protocol: the connection is closed with this message as the logged reason. */
public class ProtocolException extends Exception {
  public ProtocolException(String message) {
    super(message);
  }

  public ProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
