package kueue.config;

/**
 * The configuration file cannot be used. The message is one line that names the file, the key and
 * what was expected; programs print it and exit with code 2.
 */
public class ConfigException extends Exception {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
