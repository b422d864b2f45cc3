package kueue.dashboard;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import kueue.client.CliException;
import kueue.client.ServerAccess;
import kueue.config.ConfigException;
import kueue.model.OutputCursor;
import kueue.protocol.Message;

/**
 * Reads job output for the pages: a followed read waits at the server until there is something new
 * (up to {@link Message#FOLLOW_WAIT_MILLIS}), so each read has a connection of its own, never the
 * one that actions and the other requests share. Connections are kept for the next read; at most
 * {@link #MAX_READERS} pages read at once, so open pages cannot open connections without bound.
 */
final class OutputReader implements AutoCloseable {
  static final int MAX_READERS = 8;

  /** There are {@link #MAX_READERS} reads under way already. */
  static final class Busy extends Exception {
    Busy() {
      super("too many job pages read output at once", null, false, false);
    }
  }

  private final ServerAccess access;
  private final Semaphore readers = new Semaphore(MAX_READERS);
  private final ConcurrentLinkedQueue<ServerLink> idle = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;

  OutputReader(ServerAccess access) {
    this.access = access;
  }

  Message.OutputRead read(OutputCursor cursor, boolean follow)
      throws Busy, CliException, ConfigException {
    if (closed || !readers.tryAcquire()) {
      throw new Busy();
    }
    ServerLink link = idle.poll();
    if (link == null) {
      link = new ServerLink(access);
    }
    boolean keep = false;
    try {
      Message.OutputRead read =
          link.request(new Message.ReadOutput(List.of(cursor), follow), Message.OutputRead.class);
      keep = true;
      return read;
    } finally {
      if (keep && !closed) {
        idle.add(link);
      } else {
        link.close();
      }
      readers.release();
    }
  }

  @Override
  public void close() {
    closed = true;
    for (ServerLink link; (link = idle.poll()) != null; ) {
      link.close();
    }
  }
}
