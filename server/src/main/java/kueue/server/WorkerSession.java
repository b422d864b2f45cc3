package kueue.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import kueue.core.Command;
import kueue.model.CapturedOutput;
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

  /** Commands of reports read but not yet handed to the scheduler; see {@link #run}. */
  private final List<Command> pending = new ArrayList<>();

  private static final int MAX_PENDING = 1000;

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
    if (!(MessageCodec.decode(first) instanceof Message.Register received)) {
      throw new ProtocolException("a worker must register first");
    }
    Message.Register register = validated(received);
    if (register.environmentSlots() != null) {
      outbound.keepEnvironments(register.environmentSlots());
    }
    long[] id = {-1};
    java.util.concurrent.CountDownLatch registered = new java.util.concurrent.CountDownLatch(1);
    context
        .loop()
        .connectWorker(
            outbound,
            register,
            workerId -> {
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
    context.outputRelay().workerConnected(workerId, outbound);
    log.info(
        "worker {} '{}' connected from {} ({} running, {} results to deliver)",
        workerId,
        register.name(),
        peer,
        register.running().size(),
        register.ended().size());
    String reason = "connection closed";
    try {
      while (readReport(workerId)) {
        // Until the worker closes the connection.
      }
    } catch (IOException | ProtocolException e) {
      reason = e.getMessage();
      throw e;
    } finally {
      tellPending();
      context.outputRelay().workerGone(workerId);
      log.info("worker {} '{}' disconnected: {}", workerId, register.name(), reason);
      context.systemInfo().remove(workerId);
      context.loop().disconnectWorker(workerId, reason);
    }
  }

  /**
   * Reads and handles one message; false at the end of the stream. Its own method so that the JIT
   * compiles it: the loop around it runs once per connection and would stay interpreted.
   */
  private boolean readReport(long workerId) throws IOException, ProtocolException {
    byte[] line = reader.next();
    if (line == null) {
      return false;
    }
    Message message = MessageCodec.decode(line);
    if (!(message instanceof Message.FromWorker report)) {
      throw new ProtocolException("a worker may not send " + Connection.typeOf(message));
    }
    handle(workerId, report);
    // Reports that arrived together go to the scheduler together.
    if (!reader.hasBuffered() || pending.size() >= MAX_PENDING) {
      tellPending();
    }
    return true;
  }

  private void tell(Command command) {
    pending.add(command);
  }

  private void tellPending() {
    if (!pending.isEmpty()) {
      context.loop().tellAll(pending);
      pending.clear();
    }
  }

  private void handle(long workerId, Message.FromWorker report) throws ProtocolException {
    switch (report) {
      case Message.Register r -> throw new ProtocolException("registered twice");
      // Straight to whoever asked, not through the scheduler: output changes no job's state.
      case Message.Output output -> context.outputRelay().answered(workerId, output);
      case Message.Heartbeat heartbeat -> {
        if (heartbeat.capacity() == null || heartbeat.system() == null) {
          throw new ProtocolException("incomplete heartbeat");
        }
        context.systemInfo().put(workerId, heartbeat.system());
        tell(new Command.UpdateWorker(workerId, heartbeat.capacity()));
        // Straight from this session, not through the loop: it tells the worker that the
        // connection works, which is what it needs to know to keep its jobs.
        outbound.send(new Message.HeartbeatAck());
      }
      case Message.Released released ->
          tell(
              new Command.Release(
                  workerId,
                  released.jobId(),
                  released.attempt(),
                  released.reason() == null ? "stopping" : released.reason()));
      case Message.Declined declined ->
          tell(
              new Command.Decline(
                  workerId,
                  declined.jobId(),
                  declined.attempt(),
                  declined.permanent(),
                  declined.reason() == null ? "declined" : declined.reason()));
      case Message.Started started -> {
        if (started.at() == null) {
          throw new ProtocolException("started without a time");
        }
        requireStorable(started.at());
        tell(new Command.MarkStarted(workerId, started.jobId(), started.attempt(), started.at()));
      }
      case Message.Ended ended -> {
        if (ended.outcome() == null || ended.outcome().ended() == null) {
          throw new ProtocolException("ended without an outcome");
        }
        requireStorable(ended.outcome().started());
        requireStorable(ended.outcome().ended());
        tell(
            new Command.MarkEnded(
                workerId,
                ended.jobId(),
                ended.attempt(),
                ended.outcome(),
                cap(ended.stdout()),
                cap(ended.stderr())));
      }
    }
  }

  /** The registration, checked, with its results' output within the server's cap. */
  private Message.Register validated(Message.Register register) throws ProtocolException {
    if (register.name() == null
        || register.capacity() == null
        || register.running() == null
        || register.ended() == null
        || register.system() == null) {
      throw new ProtocolException("incomplete register message");
    }
    List<Message.Ended> ended = new ArrayList<>(register.ended().size());
    for (Message.Ended result : register.ended()) {
      if (result == null || result.outcome() == null || result.outcome().ended() == null) {
        throw new ProtocolException("register lists a result without an outcome");
      }
      requireStorable(result.outcome().started());
      requireStorable(result.outcome().ended());
      ended.add(
          new Message.Ended(
              result.jobId(),
              result.attempt(),
              result.outcome(),
              cap(result.stdout()),
              cap(result.stderr())));
    }
    return new Message.Register(
        register.name(),
        register.system(),
        register.capacity(),
        register.running(),
        ended,
        register.environmentSlots());
  }

  /**
   * Keeps the tail of a captured stream within the server's own cap, whatever the worker's
   * configuration says, so that no result makes the store (or a show-job) hold more.
   */
  private CapturedOutput cap(CapturedOutput output) {
    return capped(output, context.capturedOutputMaxBytes());
  }

  /** Numbers in a stream's runs (two per run) a result may carry; see LiveOutput.MAX_SWITCHES. */
  static final int MAX_RUN_NUMBERS = 2 * 4096;

  static CapturedOutput capped(CapturedOutput output, long maxBytes) {
    if (output == null || output.text() == null) {
      return output == null ? null : new CapturedOutput("", output.droppedBytes());
    }
    if (output.runs() != null && output.runs().size() > MAX_RUN_NUMBERS) {
      // More than any worker of ours remembers: the order is dropped, not the output.
      output = new CapturedOutput(output.text(), output.droppedBytes());
    }
    String text = output.text();
    // A UTF-8 character takes at most three bytes per Java char.
    if ((long) text.length() * 3 <= maxBytes) {
      return output;
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= maxBytes) {
      return output;
    }
    int cut = (int) (bytes.length - maxBytes);
    while (cut < bytes.length && (bytes[cut] & 0xC0) == 0x80) {
      cut++; // do not start in the middle of a character
    }
    return output.cut(
        new String(bytes, cut, bytes.length - cut, StandardCharsets.UTF_8),
        Math.max(0, output.droppedBytes()) + cut);
  }

  /**
   * The store keeps times as milliseconds since 1970: a time beyond that range would fail the whole
   * batch it is stored with, so it is refused here as a broken message.
   */
  private static void requireStorable(Instant time) throws ProtocolException {
    if (time != null && (time.isBefore(EARLIEST) || time.isAfter(LATEST))) {
      throw new ProtocolException("time out of range: " + time);
    }
  }
}
