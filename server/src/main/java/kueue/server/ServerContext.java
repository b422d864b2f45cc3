package kueue.server;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import kueue.model.SystemInfo;
import kueue.protocol.TransportSecurity;
import kueue.store.JobStore;

/** What every connection of one server shares. */
record ServerContext(
    String secret,
    String software,
    TransportSecurity transport,
    AuthenticationThrottle throttle,
    SchedulerLoop loop,
    JobStore store,
    Map<Long, SystemInfo> systemInfo) {

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
