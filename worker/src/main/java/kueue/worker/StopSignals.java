package kueue.worker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a stop action on SIGINT and SIGTERM. Handling the signals directly (rather than only in a
 * shutdown hook) lets the program finish its stop and exit with code 0 instead of the JVM's
 * 130/143. A shutdown hook runs the same action for every other way the JVM can end.
 */
final class StopSignals {
  private static final Logger log = LoggerFactory.getLogger(StopSignals.class);

  private StopSignals() {}

  static void onStop(Runnable stop) {
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(stop));
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        sun.misc.Signal.handle(
            new sun.misc.Signal(name),
            signal -> {
              log.info("SIG{} received: stopping", signal.getName());
              Thread.ofPlatform().name("stop").start(stop);
            });
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        log.debug("cannot handle SIG{} ({}); relying on the shutdown hook", name, e.getMessage());
      }
    }
  }
}
