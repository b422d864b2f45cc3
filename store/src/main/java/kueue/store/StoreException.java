package kueue.store;

/**
 * The job database could not be opened, read or written. The message names the database file or the
 * event that could not be stored, so that it can be shown to an operator as it is.
 */
public class StoreException extends RuntimeException {

  public StoreException(String message) {
    super(message);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
