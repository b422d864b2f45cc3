package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile input (docs/SECURITY.md) against a real server: each kind of abuse gets its connection
 * closed with a logged reason, and an ordinary client is still served afterwards.
 */
@Timeout(120)
class HostileInputTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path home;
  private ServerFixture fixture;
  private final List<Socket> sockets = new ArrayList<>();

  @AfterEach
  void stop() throws IOException {
    for (Socket socket : sockets) {
      socket.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  private void start(ConnectionGuard.Limits limits) throws Exception {
    fixture = ServerFixture.start(home, "none", "", limits);
  }

  private void start() throws Exception {
    start(ServerFixture.standardLimits());
  }

  /** Plain TCP from the given local address, nothing said yet. */
  private Socket connect(String localAddress) throws IOException {
    Socket socket = new Socket();
    sockets.add(socket);
    socket.bind(new InetSocketAddress(localAddress, 0));
    socket.connect(new InetSocketAddress("127.0.0.1", fixture.port), 5_000);
    socket.setSoTimeout((int) WAIT.toMillis());
    return socket;
  }

  /** Reads until the server closes; false if it is still open after the wait. */
  private static boolean closedByServer(Socket socket) {
    try {
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      while (in.read(buffer) >= 0) {
        // skip whatever the server said before closing
      }
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true; // reset by the server
    }
  }

  private static boolean closedByServer(RawPeer peer) throws Exception {
    try {
      Message message;
      do {
        message = peer.receive();
      } while (message != null);
      return true;
    } catch (kueue.protocol.ProtocolException e) {
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    }
  }

  private void assertLogged(String reason) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(fixture.logLines())
                    .as("the server logs why it closed the connection")
                    .anyMatch(line -> line.startsWith("closed ") && line.contains(reason)));
  }

  private void assertStillServing() throws Exception {
    try (PeerConnection client = fixture.client()) {
      client.send(
          new Message.Submit(
              List.of(
                  JobSpecBuilder.builder()
                      .argv(List.of("true"))
                      .cwd("/tmp")
                      .slots(1)
                      .cpus(1)
                      .ramMb(1)
                      .globalResources(Map.of())
                      .build())));
      assertThat(client.receive()).isInstanceOf(Message.Submitted.class);
      client.send(new Message.ListJobs(10, List.of()));
      assertThat(client.receive()).isInstanceOf(Message.JobList.class);
    }
    assertThat(fixture.errors()).as("no unexpected failure was logged").isEmpty();
  }

  @Test
  void garbageBytesBeforeTheHandshakeCloseTheConnection() throws Exception {
    start();
    Socket socket = connect("127.0.0.1");
    byte[] garbage = new byte[3000];
    new java.util.Random(3).nextBytes(garbage);
    garbage[garbage.length - 1] = '\n';
    Arrays.fill(garbage, 0, 10, (byte) 'x');

    socket.getOutputStream().write(garbage);

    assertThat(closedByServer(socket)).isTrue();
    assertLogged("invalid message");
    assertStillServing();
  }

  @Test
  void aHugeMessageBeforeAuthenticationIsCutOffAfterSixteenKibibytes() throws Exception {
    start();
    Socket socket = connect("127.0.0.1");
    OutputStream out = socket.getOutputStream();
    byte[] chunk = new byte[4096];
    Arrays.fill(chunk, (byte) 'a');

    long sent = 0;
    try {
      while (sent < 10_000_000) {
        out.write(chunk);
        sent += chunk.length;
      }
    } catch (IOException expected) {
      // the server hung up in the middle
    }

    assertThat(closedByServer(socket)).isTrue();
    assertThat(sent).as("the server stopped reading long before 10 MB").isLessThan(10_000_000);
    assertLogged("message longer than " + Connection.HANDSHAKE_MAX_BYTES + " bytes");
    assertStillServing();
  }

  @Test
  void anEndlessMessageAfterAuthenticationIsCutOffAtTheMessageLimit() throws Exception {
    start();
    RawPeer peer = fixture.authenticated("client");
    OutputStream out = peer.channel.output();
    byte[] chunk = new byte[64 * 1024];
    Arrays.fill(chunk, (byte) 'b');

    long sent = 0;
    try {
      while (sent < 4L * MessageCodec.MAX_MESSAGE_BYTES) {
        out.write(chunk);
        sent += chunk.length;
      }
    } catch (IOException expected) {
      // the server hung up in the middle
    }

    assertThat(closedByServer(peer)).isTrue();
    assertThat(sent).isLessThan(4L * MessageCodec.MAX_MESSAGE_BYTES);
    assertLogged("message longer than " + MessageCodec.MAX_MESSAGE_BYTES + " bytes");
    assertStillServing();
  }

  @Test
  void invalidJsonUnknownTypesAndMessagesFromTheWrongSideOrAtTheWrongTimeCloseTheConnection()
      throws Exception {
    start();
    List<String> lines =
        List.of(
            "{\"type\":\"list_jobs\",\"limit\":",
            "{\"type\":\"launch_missiles\"}",
            "[1,2,3]",
            "null",
            "{\"type\":\"heartbeat\",\"system\":null,\"capacity\":null}",
            "{\"type\":\"welcome\",\"software\":\"me\"}",
            "{\"type\":\"show_job\",\"id\":1e400}",
            "{\"type\":\"show_job\",\"id\":99999999999999999999999}",
            "{\"type\":\"list_jobs\",\"limit\":" + "[".repeat(100) + "]".repeat(100) + "}");
    for (String line : lines) {
      RawPeer peer = fixture.authenticated("client");
      peer.channel.output().write((line + "\n").getBytes(StandardCharsets.UTF_8));
      peer.channel.output().flush();
      assertThat(closedByServer(peer)).as("closed after %s", line).isTrue();
    }
    RawPeer worker = fixture.registeredWorker("twice", List.of(), List.of());
    worker.send(
        new Message.Register(
            "twice", ServerFixture.system("x"), ServerFixture.capacity(), List.of(), List.of()));
    assertThat(closedByServer(worker)).isTrue();
    RawPeer unregistered = fixture.authenticated("worker");
    unregistered.send(new Message.Started(1, 1, Instant.now()));
    assertThat(closedByServer(unregistered)).isTrue();

    assertLogged("a client may not send Heartbeat");
    assertLogged("a client may not send Welcome");
    assertLogged("registered twice");
    assertLogged("a worker must register first");
    assertLogged("invalid message");
    assertStillServing();
  }

  @Test
  void aWorkerReportingATimeBeyondWhatCanBeStoredIsClosedAndNothingBreaks() throws Exception {
    start();
    RawPeer worker = fixture.registeredWorker("far-future", List.of(), List.of());

    worker.send(new Message.Started(1, 1, Instant.MAX));

    assertThat(closedByServer(worker)).isTrue();
    assertLogged("time out of range");
    RawPeer registering = fixture.authenticated("worker");
    registering.send(
        new Message.Register(
            "far-past",
            ServerFixture.system("x"),
            ServerFixture.capacity(),
            List.of(),
            List.of(
                new Message.Ended(
                    5,
                    1,
                    new JobOutcome(0, null, null, null, Instant.MIN),
                    CapturedOutput.EMPTY,
                    CapturedOutput.EMPTY))));
    assertThat(closedByServer(registering)).isTrue();
    assertStillServing();
  }

  @Test
  void aRequestTrickledByteByByteIsCutOffAtTheMessageDeadline() throws Exception {
    start(new ConnectionGuard.Limits(100, 100, Duration.ofSeconds(1), Duration.ofMinutes(15)));
    RawPeer peer = fixture.authenticated("client");
    byte[] request = "{\"type\":\"list_jobs\",\"limit\":10,\"filters\":[]}\n".getBytes();
    long started = System.nanoTime();

    boolean cut = false;
    for (byte b : request) {
      try {
        peer.channel.output().write(b);
        peer.channel.output().flush();
      } catch (IOException closed) {
        cut = true;
        break;
      }
      Thread.sleep(150);
      if (peer.channel.socket().isClosed()) {
        break;
      }
    }

    assertThat(cut || closedByServer(peer)).isTrue();
    assertThat((System.nanoTime() - started) / 1_000_000)
        .as("cut off soon after the deadline, before the request was complete")
        .isLessThan(request.length * 150L);
    assertLogged("a message was not completed within 1s");
    assertStillServing();
  }

  @Test
  void anIdleClientIsClosedAfterTheIdleLimitButAnIdleWorkerIsNot() throws Exception {
    start(new ConnectionGuard.Limits(100, 100, Duration.ofSeconds(60), Duration.ofSeconds(1)));
    RawPeer client = fixture.authenticated("client");
    RawPeer worker = fixture.registeredWorker("quiet", List.of(), List.of());

    assertThat(closedByServer(client)).isTrue();

    assertLogged("idle for 1s");
    worker.send(new Message.Heartbeat(ServerFixture.system("quiet"), ServerFixture.capacity()));
    assertThat(worker.receive()).isEqualTo(new Message.HeartbeatAck());
    assertStillServing();
  }

  private long submitPendingJob() throws Exception {
    try (PeerConnection client = fixture.client()) {
      client.send(
          new Message.Submit(
              List.of(
                  JobSpecBuilder.builder()
                      .argv(List.of("true"))
                      .cwd("/tmp")
                      .slots(1)
                      .cpus(1)
                      .ramMb(1)
                      .globalResources(Map.of())
                      .build())));
      return ((Message.Submitted) client.receive()).ids().getFirst();
    }
  }

  @Test
  void aClientThatHangsUpWhileWaitingForAJobIsLetGo() throws Exception {
    start();
    long job = submitPendingJob();
    RawPeer waiting = fixture.authenticated("client");
    waiting.send(new Message.WaitJobs(List.of(job)));
    await().atMost(WAIT).until(() -> fixture.server.openConnections() == 1);

    waiting.close();

    await().atMost(WAIT).until(() -> fixture.server.openConnections() == 0);
    assertLogged("hung up while waiting");
    assertStillServing();
  }

  @Test
  void aClientWaitingForAJobLongerThanTheIdleLimitIsNotIdle() throws Exception {
    start(new ConnectionGuard.Limits(100, 100, Duration.ofSeconds(60), Duration.ofSeconds(1)));
    long job = submitPendingJob();
    RawPeer waiting = fixture.authenticated("client");
    waiting.send(new Message.WaitJobs(List.of(job)));
    RawPeer idle = fixture.authenticated("client");
    assertThat(closedByServer(idle)).as("an idle client meanwhile is closed").isTrue();

    try (PeerConnection other = fixture.client()) {
      other.send(new Message.RemoveJob(job, false));
      assertThat(other.receive()).isInstanceOf(Message.JobRemoved.class);
    }

    assertThat(waiting.receive()).isInstanceOf(Message.JobsEnded.class);
  }

  @Test
  void aConnectionBeyondThePerAddressCapDisplacesAnUnauthenticatedOneOfThatAddress()
      throws Exception {
    start(new ConnectionGuard.Limits(100, 5, Duration.ofSeconds(60), Duration.ofMinutes(15)));
    List<Socket> idle = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      idle.add(connect("127.0.0.2"));
    }
    await().atMost(WAIT).until(() -> fixture.server.openConnections() == 5);

    idle.add(connect("127.0.0.2"));

    await().atMost(WAIT).until(() -> idle.stream().filter(s -> isClosed(s)).count() == 1);
    assertThat(fixture.server.openConnections()).isEqualTo(5);
    assertThat(fixture.logLines())
        .anyMatch(line -> line.contains("to make room") && line.contains("127.0.0.2"));
    assertStillServing();
  }

  @Test
  void authenticatedConnectionsAreNeverDisplacedSoBeyondThemTheAddressIsRefused() throws Exception {
    start(new ConnectionGuard.Limits(100, 2, Duration.ofSeconds(60), Duration.ofMinutes(15)));
    try (PeerConnection first = fixture.client();
        PeerConnection _ = fixture.client()) {
      await().atMost(WAIT).until(() -> fixture.server.openConnections() == 2);

      Socket third = connect("127.0.0.1");

      assertThat(closedByServer(third)).isTrue();
      assertThat(fixture.logLines())
          .anyMatch(line -> line.contains("refused 1 connection from 127.0.0.1"));
      first.send(new Message.ListJobs(0, List.of()));
      assertThat(first.receive()).isNotNull();
    }
  }

  @Test
  void aFloodOfIdleConnectionsFromOneNetworkDoesNotKeepAClientOut() throws Exception {
    start(new ConnectionGuard.Limits(60, 60, Duration.ofSeconds(60), Duration.ofMinutes(15)));
    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < 300; i++) {
        flood.add(connect("127.0.0." + (2 + i % 5)));
      }
      for (int attempt = 0; attempt < 5; attempt++) {
        for (int i = 0; i < 30; i++) {
          flood.add(connect("127.0.0." + (2 + i % 5)));
        }
        assertStillServing();
      }
      assertThat(fixture.server.openConnections()).isLessThanOrEqualTo(60);
      assertThat(fixture.logLines().stream().filter(line -> line.contains("make room")).count())
          .as("a flood is counted, not logged line by line")
          .isLessThanOrEqualTo(ConnectionGuard.LOGGED_PER_INTERVAL + 1);
    } finally {
      for (Socket socket : flood) {
        socket.close();
      }
    }
  }

  private static boolean isClosed(Socket socket) {
    try {
      socket.setSoTimeout(50);
      return socket.getInputStream().read() < 0;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Test
  void aConnectionBeyondTheTotalCapDisplacesAnUnauthenticatedOne() throws Exception {
    start(new ConnectionGuard.Limits(4, 100, Duration.ofSeconds(60), Duration.ofMinutes(15)));
    List<Socket> open = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      open.add(connect("127.0.0." + (3 + i)));
    }
    await().atMost(WAIT).until(() -> fixture.server.openConnections() == 4);

    open.add(connect("127.0.0.9"));

    await().atMost(WAIT).until(() -> open.stream().filter(s -> isClosed(s)).count() == 1);
    assertThat(fixture.server.openConnections()).isEqualTo(4);
    assertStillServing();
  }
}
