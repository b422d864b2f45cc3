package kueue.server;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.LinkedBlockingQueue;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Messages to one peer, written by a virtual thread of its own so that the scheduler loop never
 * blocks on a slow or stalled peer. A peer that lets too many messages pile up is disconnected
 * rather than allowed to grow the server's memory.
 */
final class Outbound {
  private static final Logger log = LoggerFactory.getLogger(Outbound.class);

  /** Generous for a worker taking thousands of offers per second, small against a heap. */
  static final int MAX_QUEUED_MESSAGES = 100_000;

  private static final Message CLOSE = new Message.Failure("internal", "closing");

  private final Socket socket;
  private final String peer;
  private final LinkedBlockingQueue<Message> queue = new LinkedBlockingQueue<>();
  private volatile boolean closed;

  Outbound(Socket socket, String peer) {
    this.socket = socket;
    this.peer = peer;
    Thread.ofVirtual().name("write " + peer).start(this::writeLoop);
  }

  /** Queues a message; never blocks. Messages to a closed peer are dropped. */
  void send(Message message) {
    if (closed) {
      return;
    }
    if (queue.size() >= MAX_QUEUED_MESSAGES) {
      log.warn("closing {}: it does not read its messages ({} queued)", peer, queue.size());
      close();
      return;
    }
    queue.add(message);
  }

  /**
   * Closes the connection now, dropping what is queued: for a peer presumed lost, which may not
   * read anything any more, so that writing to it could block forever.
   */
  void abort() {
    closed = true;
    queue.add(CLOSE);
    try {
      socket.close();
    } catch (IOException ignored) {
      // closed already
    }
  }

  /** Sends what is queued, then closes the connection. */
  void close() {
    if (!closed) {
      closed = true;
      queue.add(CLOSE);
    }
  }

  private void writeLoop() {
    try (socket) {
      OutputStream out = socket.getOutputStream();
      byte[] buffer = new byte[16 * 1024];
      while (true) {
        Message message = queue.take();
        if (message == CLOSE) {
          return;
        }
        // Coalesce whatever is already queued into few writes: thousands of offers per second
        // would otherwise cost a system call each.
        int used = 0;
        while (message != null && message != CLOSE) {
          byte[] line = MessageCodec.encode(message);
          if (used + line.length > buffer.length) {
            out.write(buffer, 0, used);
            used = 0;
          }
          if (line.length > buffer.length) {
            out.write(line);
          } else {
            System.arraycopy(line, 0, buffer, used, line.length);
            used += line.length;
          }
          message = queue.poll();
        }
        out.write(buffer, 0, used);
        out.flush();
        if (message == CLOSE) {
          return;
        }
      }
    } catch (IOException e) {
      log.debug("writing to {} failed: {}", peer, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closed = true;
    }
  }
}
