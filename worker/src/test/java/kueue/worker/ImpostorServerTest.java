package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import kueue.config.KueueConfig;
import kueue.protocol.Message;
import kueue.protocol.ServerIdentity;
import kueue.protocol.ServerKeyPin;
import kueue.protocol.TransportSecurity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host that pretends to be the Kueue server must never get a worker to register, let alone run a
 * command: whatever it knows or lacks, the worker hangs up and retries.
 */
class ImpostorServerTest {
  private static final String SECRET = "the-shared-secret-of-this-test";
  private static final ServerIdentity GENUINE_KEY = ServerIdentity.generate();
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  private ScriptedServer impostor;
  private WorkerAgent agent;
  private Thread agentThread;

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.stop();
      agentThread.join(WAIT);
    }
    if (impostor != null) {
      impostor.close();
    }
  }

  private void startAgentAgainst(ScriptedServer server) throws Exception {
    impostor = server;
    // The worker pins the genuine server's key; each impostor holds another, or holds that key
    // without the secret.
    KueueConfig.Common common =
        new KueueConfig.Common(SECRET, "127.0.0.1", server.port(), "info", genuinePin());
    KueueConfig.Worker settings =
        new KueueConfig.Worker("test-worker", 4, false, 1.0, Duration.ofSeconds(30), 64 * 1024);
    Duration grace = Duration.ofMillis(300);
    agent =
        new WorkerAgent(
            common,
            settings,
            Duration.ofHours(1),
            "kueue_worker test",
            new ResourceProbe(settings),
            new ProcessRunner("test-worker", 64 * 1024, grace),
            grace,
            new Backoff(Duration.ofMillis(50), Duration.ofMillis(200)));
    agentThread = Thread.ofPlatform().name("agent").start(agent::run);
  }

  private Path genuinePin() throws Exception {
    Path pin = dir.resolve("server-key.pub");
    ServerKeyPin.publish(pin, GENUINE_KEY, "the genuine server");
    return pin;
  }

  /** The impostor pushes a job right after its challenge, before anyone proved anything. */
  private Path offerAJobAndAwaitRetries() {
    Path marker = dir.resolve("must-not-exist");
    impostor.sendAfterChallenge(
        new Message.Offer(30, 1, Jobs.command(dir, "touch", marker.toString())));
    await().atMost(WAIT).until(() -> impostor.connections() >= 3);
    return marker;
  }

  private void assertNothingRegisteredOrRan(Path marker) {
    assertThat(impostor.handshakeMessages()).noneMatch(m -> m instanceof Message.Register);
    assertThat(marker).doesNotExist();
    assertThat(agent.workerId()).isEqualTo(-1);
    assertThat(agent.runningAttempts()).isEmpty();
  }

  @Test
  void anImpostorWithItsOwnKeyIsRefusedInTheTlsHandshake() throws Exception {
    startAgentAgainst(
        new ScriptedServer(SECRET, TransportSecurity.server(ServerIdentity.generate())));

    Path marker = offerAJobAndAwaitRetries();

    assertThat(impostor.handshakeMessages()).as("not even a hello got through").isEmpty();
    assertNothingRegisteredOrRan(marker);
  }

  @Test
  void anImpostorWithoutTlsIsRefused() throws Exception {
    startAgentAgainst(new ScriptedServer("the impostor's secret", TransportSecurity.none()));

    Path marker = offerAJobAndAwaitRetries();

    assertThat(impostor.handshakeMessages()).isEmpty();
    assertNothingRegisteredOrRan(marker);
  }

  @Test
  void anImpostorHoldingTheServerKeyButNotTheSecretCannotProveItself() throws Exception {
    // As if the server's key file had been copied without the secret: TLS succeeds and the
    // worker proves the secret (to the holder of the pinned key), but the impostor's own proof
    // fails, so the worker neither registers nor runs what it is sent.
    startAgentAgainst(
        new ScriptedServer("a guessed secret", TransportSecurity.server(GENUINE_KEY)));

    Path marker = offerAJobAndAwaitRetries();

    assertThat(impostor.handshakeMessages())
        .isNotEmpty()
        .allMatch(m -> m instanceof Message.Hello || m instanceof Message.Authenticate);
    assertNothingRegisteredOrRan(marker);
  }
}
