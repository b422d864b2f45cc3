package kueue.server;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import kueue.model.JobSpec;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Messages to one peer, written by a thread of its own so that the scheduler loop never blocks on a
 * slow or stalled peer: a virtual thread, or for a worker a platform thread (see {@link
 * #writeFromPlatformThread}). A peer that lets too many messages pile up is disconnected rather
 * than allowed to grow the server's memory.
 */
final class Outbound {
  private static final Logger log = LoggerFactory.getLogger(Outbound.class);

  /** Generous for a worker taking thousands of offers per second, small against a heap. */
  static final int MAX_QUEUED_MESSAGES = 100_000;

  private static final List<Message> CLOSE = List.of(new Message.Failure("internal", "closing"));
  private static final List<Message> TO_PLATFORM_THREAD =
      List.of(new Message.Failure("internal", "writer moves to a platform thread"));

  /** The most environment slots the server keeps per worker connection, whatever it asks for. */
  static final int MAX_ENVIRONMENT_SLOTS = 64;

  private final Socket socket;
  private final String peer;

  /**
   * Messages queued together (e.g. a result's confirmation and the next offer, from one turn of the
   * scheduler loop) are taken by the writer together: one TLS record, one system call and one
   * wake-up of the peer instead of one each.
   */
  private final LinkedBlockingQueue<List<Message>> queue = new LinkedBlockingQueue<>();

  private final AtomicInteger queuedMessages = new AtomicInteger();
  private volatile boolean closed;

  /**
   * The environments the peer keeps, by slot, as last sent on this connection; only the writer
   * thread touches it once set. Null while the peer keeps none.
   */
  private volatile Map<String, String>[] environments;

  private int nextSlot;

  Outbound(Socket socket, String peer) {
    this.socket = socket;
    this.peer = peer;
    Thread.ofVirtual().name("write " + peer).start(this::writeLoop);
  }

  /**
   * The peer (a worker) keeps this many environments of offers, so that an offer whose environment
   * it holds already is sent without it. Must be called before the first offer is queued.
   */
  @SuppressWarnings({"unchecked", "rawtypes"}) // an array of a generic type cannot be created
  void keepEnvironments(int slots) {
    int count = Math.min(slots, MAX_ENVIRONMENT_SLOTS);
    environments = count > 0 ? new Map[count] : null;
  }

  /**
   * Writes what is queued after now from a platform thread of its own. A worker's connection
   * carries a few messages per job all day; on a virtual thread each write that followed a wait
   * woke a carrier thread, which bench/throughput measured at about 1.4 more context switches and
   * 0.07 ms more of the server's CPU per job. Workers are few enough for a thread each.
   */
  void writeFromPlatformThread() {
    queue.add(TO_PLATFORM_THREAD);
  }

  /** Queues a message; never blocks. Messages to a closed peer are dropped. */
  void send(Message message) {
    sendAll(List.of(message));
  }

  /** Queues messages to be written together, in this order; never blocks. */
  void sendAll(List<Message> messages) {
    if (closed || messages.isEmpty()) {
      return;
    }
    int queued = queuedMessages.get();
    if (queued >= MAX_QUEUED_MESSAGES) {
      log.warn("closing {}: it does not read its messages ({} queued)", peer, queued);
      close();
      return;
    }
    queuedMessages.addAndGet(messages.size());
    queue.add(messages);
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

  /**
   * An offer whose environment the peer holds in a slot is sent without it, naming the slot; any
   * other offer's environment is sent and kept in the next slot in turn. Runs on the writer thread,
   * in the order of sending, so both ends agree on what each slot holds.
   */
  private Message withEnvironmentSlot(Message message) {
    Map<String, String>[] slots = environments;
    if (slots == null || !(message instanceof Message.Offer offer) || offer.envSlot() != null) {
      return message;
    }
    JobSpec spec = offer.spec();
    Map<String, String> env = spec == null ? null : spec.env();
    if (env == null) {
      return message;
    }
    // Most offers share the environment instance of the job before (the scheduler shares equal
    // environments), so an identity match usually ends the search at once.
    for (int i = 0; i < slots.length; i++) {
      if (slots[i] == env) {
        return offer.withSpec(spec.withEnv(null), i);
      }
    }
    for (int i = 0; i < slots.length; i++) {
      if (slots[i] != null && slots[i].size() == env.size() && slots[i].equals(env)) {
        slots[i] = env;
        return offer.withSpec(spec.withEnv(null), i);
      }
    }
    int slot = nextSlot;
    nextSlot = (nextSlot + 1) % slots.length;
    slots[slot] = env;
    return offer.withSpec(spec, slot);
  }

  private void writeLoop() {
    boolean handedOver = false;
    try {
      OutputStream out = socket.getOutputStream();
      byte[] buffer = new byte[16 * 1024];
      List<Message> control;
      do {
        control = writeQueued(out, buffer);
      } while (control == null);
      if (control == TO_PLATFORM_THREAD) {
        Thread.ofPlatform()
            .daemon()
            .stackSize(Connection.WORKER_THREAD_STACK_BYTES)
            .name("write " + peer)
            .start(this::writeLoop);
        handedOver = true;
      }
    } catch (IOException e) {
      log.debug("writing to {} failed: {}", peer, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | OutOfMemoryError e) {
      // e.g. no thread could be started: the peer is disconnected, a worker connects again.
      log.warn("writing to {} failed: {}", peer, e.toString());
    } finally {
      if (!handedOver) {
        closed = true;
        try {
          socket.close();
        } catch (IOException ignored) {
          // closed already
        }
      }
    }
  }

  /**
   * Waits for messages and writes all that are queued; returns CLOSE or TO_PLATFORM_THREAD once one
   * of them was taken, else null. Its own method so that the JIT compiles it: the loop around it
   * runs once per connection and would stay interpreted.
   */
  private List<Message> writeQueued(OutputStream out, byte[] buffer)
      throws IOException, InterruptedException {
    List<Message> messages = queue.take();
    // Coalesce whatever is already queued into few writes: thousands of offers per second
    // would otherwise cost a system call each.
    int used = 0;
    while (messages != null && messages != CLOSE && messages != TO_PLATFORM_THREAD) {
      queuedMessages.addAndGet(-messages.size());
      for (Message message : messages) {
        byte[] line = MessageCodec.encode(withEnvironmentSlot(message));
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
      }
      messages = queue.poll();
    }
    if (used > 0) {
      out.write(buffer, 0, used);
    }
    out.flush();
    return messages;
  }
}
