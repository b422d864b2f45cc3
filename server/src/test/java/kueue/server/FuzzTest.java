package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import kueue.model.AttemptRef;
import kueue.model.BatchEntry;
import kueue.model.CapturedOutput;
import kueue.model.JobFilter;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Throws well over 10,000 random and mutated frames at a live server over many connections (as
 * clients, as workers and before authenticating): truncated and bit-flipped messages, values of the
 * wrong type, huge numbers, nulls, deep nesting, unknown types, valid messages out of order.
 * Afterwards an ordinary client must still be served, and the server must not have logged any
 * error, which is how it reports an exception nobody expected.
 */
@Timeout(120)
class FuzzTest {
  private static final int SENDERS = 6;
  private static final int FRAMES = 12_000;
  private static final ObjectMapper JSON = MessageCodec.mapper();
  private static final String[] TYPES = {
    "hello",
    "challenge",
    "authenticate",
    "welcome",
    "failure",
    "submit",
    "submitted",
    "list_jobs",
    "job_list",
    "show_job",
    "job_details",
    "wait_jobs",
    "jobs_ended",
    "remove_job",
    "job_removed",
    "clean_jobs",
    "jobs_cleaned",
    "list_workers",
    "worker_list",
    "show_worker",
    "worker_details",
    "list_resources",
    "resource_list",
    "register",
    "registered",
    "heartbeat",
    "offer",
    "declined",
    "started",
    "ended",
    "result_stored",
    "kill",
    "released",
    "heartbeat_ack",
    "submit_batch",
    "list_batches",
    "wait_batch",
    "remove_batch",
    "nonsense",
    ""
  };

  @TempDir Path home;

  @Test
  void thousandsOfBrokenFramesNeitherCrashTheServerNorKeepItFromServingOthers() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    // Thousands of "closed ..." lines would drown the test output; the fixture still records them.
    Appender<ILoggingEvent> console = root.getAppender("STDERR");
    if (console != null) {
      root.detachAppender(console);
    }
    try (ServerFixture fixture =
        ServerFixture.start(
            home, "none", "worker_timeout_seconds = 5", ServerFixture.standardLimits())) {
      AtomicLong frames = new AtomicLong();
      AtomicLong connections = new AtomicLong();
      long deadline = System.nanoTime() + 60_000_000_000L;
      ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
      List<Future<?>> running = new ArrayList<>();
      for (int s = 0; s < SENDERS; s++) {
        Random random = new Random(Long.getLong("kueue.fuzz.seed", 1000) + s);
        running.add(
            senders.submit(
                () -> {
                  while (frames.get() < FRAMES && System.nanoTime() < deadline) {
                    frames.addAndGet(oneConnection(fixture, random));
                    connections.incrementAndGet();
                  }
                  return null;
                }));
      }
      for (Future<?> sender : running) {
        sender.get();
      }
      senders.shutdown();

      assertThat(frames.get()).as("frames thrown at the server").isGreaterThanOrEqualTo(FRAMES);
      try (PeerConnection client = fixture.client()) {
        client.send(new Message.Submit(List.of(spec("true"))));
        long id = ((Message.Submitted) client.receive()).ids().getFirst();
        client.send(new Message.ShowJob(id));
        assertThat(client.receive()).isInstanceOf(Message.JobDetails.class);
        client.send(new Message.ListJobs(5, List.of()));
        assertThat(client.receive()).isInstanceOf(Message.JobList.class);
      }
      assertThat(fixture.errors())
          .as("errors logged after %d frames on %d connections", frames.get(), connections.get())
          .extracting(
              event ->
                  event.getFormattedMessage()
                      + (event.getThrowableProxy() == null
                          ? ""
                          : ": "
                              + ch.qos.logback.classic.spi.ThrowableProxyUtil.asString(
                                  event.getThrowableProxy())))
          .isEmpty();
      System.out.printf(
          "fuzz: %d frames on %d connections, %d log lines%n",
          frames.get(), connections.get(), fixture.logs.list.size());
    } finally {
      if (console != null) {
        root.addAppender(console);
      }
    }
  }

  /** Opens one connection, sends a few frames, reads until the server is done; returns frames. */
  private static int oneConnection(ServerFixture fixture, Random random) throws Exception {
    int dice = random.nextInt(10);
    String role = dice < 6 ? "client" : dice < 9 ? "worker" : null;
    RawPeer peer;
    try {
      peer = role == null ? fixture.raw() : fixture.authenticated(role);
    } catch (IOException | kueue.protocol.ProtocolException e) {
      return 0;
    }
    int sent = 0;
    try (peer) {
      ByteArrayOutputStream batch = new ByteArrayOutputStream();
      if ("worker".equals(role) && random.nextInt(4) > 0) {
        batch.write(MessageCodec.encode(register(random)));
        sent++;
      }
      int count = 1 + random.nextInt(30);
      for (int i = 0; i < count; i++) {
        batch.write(frame(random, role));
        sent++;
      }
      try {
        peer.channel.output().write(batch.toByteArray());
        peer.channel.output().flush();
        peer.channel.socket().shutdownOutput();
      } catch (IOException closedEarly) {
        return sent;
      }
      drain(peer);
    }
    return sent;
  }

  /** Reads what the server says until it closes or goes quiet (a wait that never ends). */
  private static void drain(RawPeer peer) {
    try {
      peer.channel.socket().setSoTimeout(2_000);
      InputStream in = peer.channel.input();
      byte[] buffer = new byte[16 * 1024];
      while (in.read(buffer) >= 0) {
        // discard
      }
    } catch (IOException e) {
      // closed, reset or quiet: the server is done with us either way
    }
  }

  private static byte[] frame(Random random, String role) throws IOException {
    int kind = random.nextInt(100);
    if (kind < 25) {
      return MessageCodec.encode(valid(random, role));
    }
    if (kind < 33) {
      return MessageCodec.encode(valid(random, random.nextBoolean() ? "client" : "worker"));
    }
    if (kind < 38) {
      byte[] garbage = new byte[1 + random.nextInt(random.nextInt(10) == 0 ? 100_000 : 300)];
      random.nextBytes(garbage);
      garbage[garbage.length - 1] = '\n';
      return garbage;
    }
    byte[] line = mutated(random, valid(random, role == null ? "client" : role));
    byte[] framed = new byte[line.length + 1];
    System.arraycopy(line, 0, framed, 0, line.length);
    framed[line.length] = '\n';
    return framed;
  }

  private static byte[] mutated(Random random, Message base) throws IOException {
    String text = new String(MessageCodec.encode(base), StandardCharsets.UTF_8).strip();
    switch (random.nextInt(8)) {
      case 0 -> {
        return text.substring(0, random.nextInt(text.length())).getBytes(StandardCharsets.UTF_8);
      }
      case 1 -> {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
          int at = random.nextInt(bytes.length);
          bytes[at] ^= (byte) (1 << random.nextInt(8));
          if (bytes[at] == '\n') {
            bytes[at] = ' ';
          }
        }
        return bytes;
      }
      default -> {
        ObjectNode tree = (ObjectNode) JSON.readTree(text);
        for (int changes = 1 + random.nextInt(3); changes > 0; changes--) {
          mutateTree(random, tree);
        }
        String json = JSON.writeValueAsString(tree);
        // Numbers Jackson would not write itself.
        json =
            json.replace(
                "\"@huge@\"",
                pick(
                    random,
                    "1e400",
                    "-1e400",
                    "99999999999999999999999",
                    "1.5",
                    "-0",
                    "9223372036854775808",
                    "NaN"));
        return json.getBytes(StandardCharsets.UTF_8);
      }
    }
  }

  private static void mutateTree(Random random, ObjectNode tree) {
    List<JsonNode> containers = new ArrayList<>();
    collect(tree, containers);
    JsonNode target = containers.get(random.nextInt(containers.size()));
    if (random.nextInt(6) == 0) {
      tree.put("type", pick(random, TYPES));
      return;
    }
    if (target instanceof ObjectNode object && object.size() > 0) {
      List<String> names = new ArrayList<>();
      object.fieldNames().forEachRemaining(names::add);
      String name = names.get(random.nextInt(names.size()));
      if (random.nextInt(5) == 0) {
        object.remove(name);
      } else {
        object.set(name, weird(random));
      }
    } else if (target instanceof ArrayNode array) {
      if (array.isEmpty() || random.nextBoolean()) {
        array.add(weird(random));
      } else {
        array.set(random.nextInt(array.size()), weird(random));
      }
    }
  }

  private static void collect(JsonNode node, List<JsonNode> containers) {
    if (node.isContainerNode()) {
      containers.add(node);
      for (Iterator<JsonNode> children = node.elements(); children.hasNext(); ) {
        collect(children.next(), containers);
      }
    }
  }

  private static JsonNode weird(Random random) {
    JsonNodeFactory nodes = JsonNodeFactory.instance;
    return switch (random.nextInt(14)) {
      case 0 -> nodes.nullNode();
      case 1 -> nodes.textNode("");
      case 2 -> nodes.textNode("x".repeat(random.nextInt(200_000)));
      case 3 -> nodes.numberNode(Long.MAX_VALUE);
      case 4 -> nodes.numberNode(Long.MIN_VALUE);
      case 5 -> nodes.numberNode(-1);
      case 6 -> nodes.numberNode(random.nextInt());
      case 7 -> nodes.booleanNode(random.nextBoolean());
      case 8 -> nodes.arrayNode().add(nodes.nullNode());
      case 9 -> nodes.objectNode().put("type", "submit");
      case 10 -> {
        JsonNode deep = nodes.numberNode(1);
        for (int depth = 0; depth < 30 + random.nextInt(80); depth++) {
          deep =
              random.nextBoolean()
                  ? nodes.arrayNode().add(deep)
                  : nodes.objectNode().set("a", deep);
        }
        yield deep;
      }
      case 11 -> nodes.textNode("@huge@");
      case 12 -> nodes.textNode("+1000000000-01-01T00:00:00Z");
      default -> nodes.textNode("\u0000\ud800" + random.nextInt());
    };
  }

  private static Message valid(Random random, String role) {
    if ("worker".equals(role)) {
      long job = 1 + random.nextInt(40);
      int attempt = random.nextInt(4);
      Instant now = Instant.now();
      return switch (random.nextInt(6)) {
        case 0 -> register(random);
        case 1 -> new Message.Heartbeat(ServerFixture.system("fuzz"), ServerFixture.capacity());
        case 2 -> new Message.Declined(job, attempt, random.nextBoolean(), "fuzz");
        case 3 -> new Message.Started(job, attempt, now);
        case 4 ->
            new Message.Ended(
                job,
                attempt,
                new JobOutcome(random.nextInt(3), null, null, now, now),
                new CapturedOutput("out", 0),
                CapturedOutput.EMPTY);
        default -> new Message.Released(job, attempt, "fuzz");
      };
    }
    if (role == null) {
      return new Message.Hello(Message.PROTOCOL_VERSION, "client", "bm9uY2U=", "fuzz");
    }
    long id = 1 + random.nextInt(60);
    return switch (random.nextInt(12)) {
      case 0 -> new Message.Submit(List.of(spec("true"), spec("sleep")));
      case 1 ->
          new Message.ListJobs(random.nextInt(20), List.of(JobFilter.values()[random.nextInt(6)]));
      case 2 -> new Message.ShowJob(id);
      case 3 -> new Message.RemoveJob(id, random.nextBoolean());
      case 4 -> new Message.CleanJobs(random.nextBoolean());
      case 5 -> new Message.ListWorkers();
      case 6 -> new Message.ShowWorker(random.nextInt(5));
      case 7 -> new Message.ListResources();
      case 8 ->
          new Message.SubmitBatch(
              spec("echo"), List.of(new BatchEntry(1, null), new BatchEntry(2, List.of("true"))));
      case 9 -> new Message.ListBatches(random.nextInt(5), List.of());
      case 10 -> new Message.RemoveBatch(id, random.nextBoolean());
      default -> new Message.WaitJobs(List.of(100_000L + id));
    };
  }

  private static Message.Register register(Random random) {
    return new Message.Register(
        "fuzz-" + random.nextInt(5),
        ServerFixture.system("fuzz"),
        ServerFixture.capacity(),
        List.of(new AttemptRef(1 + random.nextInt(40), random.nextInt(3))),
        List.of());
  }

  private static JobSpec spec(String program) {
    return JobSpecBuilder.builder()
        .argv(List.of(program))
        .cwd("/tmp")
        .env(Map.of("A", "b"))
        .slots(1)
        .cpus(1)
        .ramMb(10)
        .globalResources(Map.of())
        .build();
  }

  @SafeVarargs
  private static <T> T pick(Random random, T... choices) {
    return choices[random.nextInt(choices.length)];
  }
}
