package kueue.protocol;

/** One end of a connection uses TLS and the other plain TCP: the [common] encryption differs. */
public final class EncryptionMismatchException extends ProtocolException {
  public EncryptionMismatchException(String message) {
    super(message);
  }

  public EncryptionMismatchException(String message, Throwable cause) {
    super(message, cause);
  }
}
