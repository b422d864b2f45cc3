package kueue.server;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import kueue.model.SystemInfo;
import kueue.protocol.TransportSecurity;
import kueue.store.JobStore;

/**
 * What every connection of one server shares.
 *
 * @param capturedOutputMaxBytes the most of each captured stream a result may store; longer output
 *     keeps its tail, like the worker's own cap
 * @param outputRelay the output requests on their way to workers, for followers of running jobs
 */
record ServerContext(
    String secret,
    String software,
    TransportSecurity transport,
    AuthenticationThrottle throttle,
    SchedulerLoop loop,
    JobStore store,
    Map<Long, SystemInfo> systemInfo,
    ConnectionGuard guard,
    long capturedOutputMaxBytes,
    OutputRelay outputRelay) {

  ServerContext {
    if (!(systemInfo instanceof ConcurrentHashMap)) {
      throw new IllegalArgumentException("systemInfo is written by many sessions at once");
    }
  }

  @Override
  public String toString() {
    return "ServerContext[" + software + "]";
  }
}
