package kueue.server;

import java.io.IOException;
import java.time.Instant;
import kueue.core.Command;
import kueue.protocol.FrameReader;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** An authenticated worker: its reports become scheduler commands. */
final class WorkerSession {
  private static final Logger log = LoggerFactory.getLogger(WorkerSession.class);
  private static final Instant EARLIEST = Instant.parse("1970-01-01T00:00:00Z");
  private static final Instant LATEST = Instant.parse("9999-12-31T23:59:59Z");

  private final String peer;
  private final FrameReader reader;
  private final Outbound outbound;
  private final ServerContext context;

  WorkerSession(String peer, FrameReader reader, Outbound outbound, ServerContext context) {
    this.peer = peer;
    this.reader = reader;
    this.outbound = outbound;
    this.context = context;
  }

  void run() throws IOException, ProtocolException {
    byte[] first = reader.next();
    if (first == null) {
      return;
    }
    if (!(MessageCodec.decode(first) instanceof Message.Register register)) {
      throw new ProtocolException("a worker must register first");
    }
    if (register.name() == null || register.capacity() == null || register.running() == null
        || register.ended() == null || register.system() == null) {
      throw new ProtocolException("incomplete register message");
    }
    for (Message.Ended ended : register.ended()) {
      if (ended == null || ended.outcome() == null || ended.outcome().ended() == null) {
        throw new ProtocolException("register lists a result without an outcome");
      }
      requireStorable(ended.outcome().started());
      requireStorable(ended.outcome().ended());
    }
    long[] id = {-1};
    java.util.concurrent.CountDownLatch registered = new java.util.concurrent.CountDownLatch(1);
    context.loop().connectWorker(outbound, register, workerId -> {
      id[0] = workerId;
      context.systemInfo().put(workerId, register.system());
      registered.countDown();
    });
    try {
      registered.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    long workerId = id[0];
    log.info("worker {} '{}' connected from {} ({} running, {} results to deliver)",
        workerId, register.name(), peer, register.running().size(), register.ended().size());
    String reason = "connection closed";
    try {
      while (true) {
        byte[] line = reader.next();
        if (line == null) {
          return;
        }
        Message message = MessageCodec.decode(line);
        if (!(message instanceof Message.FromWorker report)) {
          throw new ProtocolException("a worker may not send " + Connection.typeOf(message));
        }
        handle(workerId, report);
      }
    } catch (IOException | ProtocolException e) {
      reason = e.getMessage();
      throw e;
    } finally {
      log.info("worker {} '{}' disconnected: {}", workerId, register.name(), reason);
      context.systemInfo().remove(workerId);
      context.loop().disconnectWorker(workerId, reason);
    }
  }

  private void handle(long workerId, Message.FromWorker report) throws ProtocolException {
    switch (report) {
      case Message.Register r -> throw new ProtocolException("registered twice");
      case Message.Heartbeat heartbeat -> {
        if (heartbeat.capacity() == null || heartbeat.system() == null) {
          throw new ProtocolException("incomplete heartbeat");
        }
        context.systemInfo().put(workerId, heartbeat.system());
        context.loop().tell(new Command.UpdateWorker(workerId, heartbeat.capacity()));
        // Straight from this session, not through the loop: it tells the worker that the
        // connection works, which is what it needs to know to keep its jobs.
        outbound.send(new Message.HeartbeatAck());
      }
      case Message.Released released ->
          context.loop().tell(new Command.Release(workerId, released.jobId(), released.attempt(),
              released.reason() == null ? "stopping" : released.reason()));
      case Message.Declined declined ->
          context.loop().tell(new Command.Decline(workerId, declined.jobId(), declined.attempt(),
              declined.permanent(), declined.reason() == null ? "declined" : declined.reason()));
      case Message.Started started -> {
        if (started.at() == null) {
          throw new ProtocolException("started without a time");
        }
        requireStorable(started.at());
        context.loop().tell(new Command.MarkStarted(workerId, started.jobId(), started.attempt(), started.at()));
      }
      case Message.Ended ended -> {
        if (ended.outcome() == null || ended.outcome().ended() == null) {
          throw new ProtocolException("ended without an outcome");
        }
        requireStorable(ended.outcome().started());
        requireStorable(ended.outcome().ended());
        context.loop().tell(new Command.MarkEnded(workerId, ended.jobId(), ended.attempt(),
            ended.outcome(), ended.stdout(), ended.stderr()));
      }
    }
  }

  /**
   * The store keeps times as milliseconds since 1970: a time beyond that range would fail the
   * whole batch it is stored with, so it is refused here as a broken message.
   */
  private static void requireStorable(Instant time) throws ProtocolException {
    if (time != null && (time.isBefore(EARLIEST) || time.isAfter(LATEST))) {
      throw new ProtocolException("time out of range: " + time);
    }
  }
}
