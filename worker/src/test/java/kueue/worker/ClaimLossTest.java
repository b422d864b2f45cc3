package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import kueue.config.KueueConfig;
import kueue.model.AttemptRef;
import kueue.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker must not run a job the server may already run elsewhere: it kills its jobs once it has
 * heard nothing from the server for half the worker timeout, unless the server is known to be down.
 * The rules and their timing are tested on the core ({@link ContactLossTest}); these tests check
 * end to end, over TLS with real processes, that the shell feeds the core what it needs: silence
 * does kill the job, answered heartbeats and refused connections do not.
 */
class ClaimLossTest {
  private static final String SECRET = "the-shared-secret-of-this-test";
  private static final Duration GRACE = Duration.ofMillis(200);
  private static final Duration WORKER_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  private ScriptedServer server;
  private WorkerAgent agent;
  private Thread agentThread;
  private final ScheduledExecutorService answering = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void tearDown() throws Exception {
    answering.shutdownNow();
    if (agent != null) {
      agent.stop();
      agentThread.join(WAIT);
    }
    if (server != null) {
      server.close();
    }
  }

  private void startAgent() throws Exception {
    server = new ScriptedServer(SECRET);
    KueueConfig.Common common = server.common(SECRET);
    KueueConfig.Worker settings =
        new KueueConfig.Worker("test-worker", 4, false, 1.0, Duration.ofMillis(100), 64 * 1024);
    agent =
        new WorkerAgent(
            common,
            settings,
            WORKER_TIMEOUT,
            "kueue_worker test",
            new ResourceProbe(settings),
            new ProcessRunner("test-worker", 64 * 1024, GRACE),
            GRACE,
            new Backoff(Duration.ofMillis(50), Duration.ofMillis(200)));
    agentThread = Thread.ofPlatform().name("agent").start(agent::run);
  }

  private ScriptedServer.Peer registeredPeer(long workerId) throws Exception {
    ScriptedServer.Peer peer = server.awaitPeer();
    peer.expect(Message.Register.class);
    peer.send(new Message.Registered(workerId));
    return peer;
  }

  /** Acknowledges the worker's heartbeats like the real server, until the test ends. */
  private void keepAnswering(ScriptedServer.Peer peer) {
    answering.scheduleAtFixedRate(
        () -> {
          try {
            peer.send(new Message.HeartbeatAck());
          } catch (Exception e) {
            // the connection is gone: nothing left to answer
          }
        },
        0,
        100,
        TimeUnit.MILLISECONDS);
  }

  private ProcessHandle startSleepingJob(ScriptedServer.Peer peer, long jobId) throws Exception {
    Path pidFile = dir.resolve("pid-" + jobId);
    peer.send(
        new Message.Offer(
            jobId,
            1,
            Jobs.command(
                dir,
                "sh",
                "-c",
                "echo $$ > "
                    + pidFile
                    + ".tmp; mv "
                    + pidFile
                    + ".tmp "
                    + pidFile
                    + "; exec sleep 1000")));
    peer.expect(Message.Started.class);
    await().atMost(WAIT).until(() -> Files.exists(pidFile));
    return ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).orElseThrow();
  }

  @Test
  void jobsKeepRunningWhileTheServerAnswersHeartbeats() throws Exception {
    startAgent();
    ScriptedServer.Peer peer = registeredPeer(1);
    keepAnswering(peer);
    ProcessHandle job = startSleepingJob(peer, 1);

    await()
        .during(WORKER_TIMEOUT.multipliedBy(2))
        .atMost(WORKER_TIMEOUT.multipliedBy(3))
        .until(job::isAlive);

    assertThat(agent.lostAttempts()).isEmpty();
    assertThat(server.connections()).as("the connection was never replaced").isEqualTo(1);
  }

  @Test
  void aWorkerThatHearsNothingKillsItsJobsAndDoesNotClaimOrReportThem() throws Exception {
    startAgent();
    ScriptedServer.Peer silent = registeredPeer(1);
    ProcessHandle job = startSleepingJob(silent, 7);
    // New connections get through the handshake but are not answered: a server that is up but
    // does not (or cannot) take the worker back.
    server.holdHandshakes();

    await().atMost(WAIT).until(() -> !job.isAlive());

    assertThat(silent.awaitClosedByWorker(WAIT)).as("the silent connection was given up").isTrue();
    await().atMost(WAIT).until(() -> agent.runningAttempts().isEmpty());
    server.openHandshakes();
    ScriptedServer.Peer back = server.awaitPeer();
    Message.Register register = back.expect(Message.Register.class);
    assertThat(register.running()).doesNotContain(new AttemptRef(7, 1));
    assertThat(register.ended()).isEmpty();
    back.send(new Message.Registered(2));
    assertThat(agent.unconfirmedResults()).isEmpty();
    assertThat(back.receivedExceptHeartbeats()).noneMatch(m -> m instanceof Message.Ended);
  }

  @Test
  void jobsKeepRunningWhileTheServerRefusesConnectionsBecauseNobodyCanRequeueThem()
      throws Exception {
    startAgent();
    ScriptedServer.Peer peer = registeredPeer(1);
    ProcessHandle job = startSleepingJob(peer, 8);

    server.close(); // nothing listens on the port any more: every connect is refused

    await()
        .during(WORKER_TIMEOUT.multipliedBy(2))
        .atMost(WORKER_TIMEOUT.multipliedBy(3))
        .until(job::isAlive);
    assertThat(agent.runningAttempts()).containsExactly(new AttemptRef(8, 1));
    assertThat(agent.lostAttempts()).isEmpty();
  }

  @Test
  void jobsKeepRunningWhileAnotherProgramHoldsTheServersPort() throws Exception {
    startAgent();
    ScriptedServer.Peer peer = registeredPeer(1);
    ProcessHandle job = startSleepingJob(peer, 10);
    int port = server.port();
    server.close();

    // Another user's program on the port while the server is down: it cannot present the pinned
    // key, and since it holds the port, the real server is not counting this worker out either.
    try (ScriptedServer squatter =
        new ScriptedServer(
            SECRET,
            kueue.protocol.TransportSecurity.server(kueue.protocol.ServerIdentity.generate()),
            port)) {
      await()
          .during(WORKER_TIMEOUT.multipliedBy(2))
          .atMost(WORKER_TIMEOUT.multipliedBy(3))
          .until(job::isAlive);
      assertThat(squatter.connections()).as("the worker kept trying").isPositive();
      assertThat(squatter.handshakeMessages()).as("and said nothing to it").isEmpty();
    }
    assertThat(agent.runningAttempts()).containsExactly(new AttemptRef(10, 1));
    assertThat(agent.lostAttempts()).isEmpty();
  }

  @Test
  void anOfferOfANewAttemptWhileTheOldOneStillRunsHereKillsTheOldOneAndIsDeclinedForNow()
      throws Exception {
    startAgent();
    ScriptedServer.Peer peer = registeredPeer(1);
    keepAnswering(peer);
    ProcessHandle old = startSleepingJob(peer, 9);

    peer.send(new Message.Offer(9, 2, Jobs.command(dir, "true")));

    // The old attempt is killed at once, so its end may be reported before the decline.
    Message.Declined declined =
        peer.expect(Message.Declined.class, m -> m instanceof Message.Ended e && e.attempt() == 1);
    assertThat(declined.attempt()).isEqualTo(2);
    assertThat(declined.permanent()).isFalse();
    assertThat(declined.reason()).contains("attempt 1 of this job is still stopping");
    await().atMost(WAIT).until(() -> !old.isAlive());
  }
}
