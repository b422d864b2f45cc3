package kueue.worker;

import ch.qos.logback.classic.Level;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Applies [common] log_level to the root logger; logback.xml only sets the format and stderr. */
final class Logging {
  private Logging() {}

  static void setLevel(String level) {
    if (LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)
        instanceof ch.qos.logback.classic.Logger root) {
      root.setLevel(Level.toLevel(level, Level.INFO));
    }
  }

  static boolean isDebug() {
    return LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME).isDebugEnabled();
  }
}
