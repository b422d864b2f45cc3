package kueue.worker;

import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a stop action on SIGINT and SIGTERM. Handling the signals directly (rather than only in a
 * shutdown hook) lets the program finish its stop and exit with code 0 instead of the JVM's
 * 130/143. A shutdown hook runs the same action for every other way the JVM can end.
 *
 * <p>{@code sun.misc.Signal} (module jdk.unsupported) is reached by reflection: javac warns about
 * every compile-time use of it, no option or annotation suppresses that warning, and the build
 * treats warnings as errors.
 */
final class StopSignals {
  private static final Logger log = LoggerFactory.getLogger(StopSignals.class);

  private StopSignals() {}

  static void onStop(Runnable stop) {
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(stop));
    for (String name : new String[] {"INT", "TERM"}) {
      try {
        handle(name, stop);
      } catch (ReflectiveOperationException | RuntimeException e) {
        log.debug("cannot handle SIG{} ({}); relying on the shutdown hook", name, e.toString());
      }
    }
  }

  private static void handle(String name, Runnable stop) throws ReflectiveOperationException {
    Class<?> signalType = Class.forName("sun.misc.Signal");
    Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
    Object signal = signalType.getConstructor(String.class).newInstance(name);
    Object handler =
        Proxy.newProxyInstance(
            StopSignals.class.getClassLoader(),
            new Class<?>[] {handlerType},
            (proxy, method, arguments) -> {
              switch (method.getName()) {
                case "handle" -> {
                  log.info("SIG{} received: stopping", name);
                  Thread.ofPlatform().name("stop").start(stop);
                  return null;
                }
                case "hashCode" -> {
                  return System.identityHashCode(proxy);
                }
                case "equals" -> {
                  return proxy == arguments[0];
                }
                default -> {
                  return "stop on SIG" + name;
                }
              }
            });
    signalType.getMethod("handle", signalType, handlerType).invoke(null, signal, handler);
  }
}
