package kueue.dashboard;

import kueue.client.CliException;
import kueue.client.KueueClient;
import kueue.client.ServerAccess;
import kueue.config.ConfigException;
import kueue.protocol.Message;
import kueue.protocol.RequestConnection;

/**
 * One connection to the Kueue server, opened on first use and opened again after it broke (the
 * server restarted, or dropped an idle connection). Requests go one at a time.
 */
final class ServerLink implements AutoCloseable {
  private final ServerAccess access;
  private KueueClient client;

  ServerLink(ServerAccess access) {
    this.access = access;
  }

  /**
   * The reply, or the server's refusal as a {@link CliException} with {@link
   * RequestConnection.Kind#REFUSED}'s exit code; a broken connection is tried once more on a new
   * one.
   */
  synchronized <T extends Message.Reply> T request(Message.Request request, Class<T> expected)
      throws CliException, ConfigException {
    for (int attempt = 1; ; attempt++) {
      if (client == null) {
        client = access.connect();
      }
      try {
        return client.request(request, expected);
      } catch (CliException e) {
        if (e.exitCode() == RequestConnection.Kind.REFUSED.exitCode()) {
          throw e;
        }
        client.close();
        client = null;
        if (attempt == 2) {
          throw e;
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    if (client != null) {
      client.close();
      client = null;
    }
  }
}
