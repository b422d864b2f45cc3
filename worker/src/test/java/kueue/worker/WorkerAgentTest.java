package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.config.KueueConfig;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerAgentTest {
  private static final String SECRET = "the-shared-secret-of-this-test";
  private static final Duration GRACE = Duration.ofMillis(300);
  private static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;

  private ScriptedServer server;
  private WorkerAgent agent;
  private Thread agentThread;

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.stop();
      agentThread.join(WAIT);
    }
    if (server != null) {
      server.close();
    }
  }

  private void startAgent(String serverSecret, Duration heartbeat) throws Exception {
    startAgent(serverSecret, heartbeat, Duration.ofHours(1));
  }

  private void startAgent(String serverSecret, Duration heartbeat, Duration workerTimeout)
      throws Exception {
    server = new ScriptedServer(serverSecret);
    KueueConfig.Common common = server.common(SECRET);
    KueueConfig.Worker settings =
        new KueueConfig.Worker("test-worker", 4, false, 1.0, heartbeat, 64 * 1024);
    ResourceProbe probe = new ResourceProbe(settings);
    ProcessRunner runner = new ProcessRunner("test-worker", 64 * 1024, GRACE);
    Backoff backoff = new Backoff(Duration.ofMillis(50), Duration.ofMillis(200));
    agent =
        new WorkerAgent(
            common, settings, workerTimeout, "kueue_worker test", probe, runner, GRACE, backoff);
    agentThread = Thread.ofPlatform().name("agent").start(agent::run);
  }

  private ScriptedServer.Peer registeredPeer(long workerId) throws Exception {
    ScriptedServer.Peer peer = server.awaitPeer();
    peer.expect(Message.Register.class);
    peer.send(new Message.Registered(workerId));
    await().atMost(WAIT).until(() -> agent.workerId() == workerId);
    return peer;
  }

  private static Message.Offer offer(long jobId, JobSpec spec) {
    return new Message.Offer(jobId, 1, spec);
  }

  @Test
  void registersWithItsNameSystemAndCapacityThenSendsHeartbeats() throws Exception {
    startAgent(SECRET, Duration.ofMillis(100));
    ScriptedServer.Peer peer = server.awaitPeer();

    Message.Register register = peer.expect(Message.Register.class);
    peer.send(new Message.Registered(7));

    assertThat(register.name()).isEqualTo("test-worker");
    assertThat(register.system().cores()).isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(register.system().totalRamMb()).isPositive();
    assertThat(register.capacity().total().slots()).isEqualTo(4);
    assertThat(register.capacity().total().cpus()).isEqualTo(register.system().cores());
    assertThat(register.running()).isEmpty();
    assertThat(register.ended()).isEmpty();
    Message.Heartbeat heartbeat = peer.expect(Message.Heartbeat.class);
    assertThat(heartbeat.capacity().total().slots()).isEqualTo(4);
    assertThat(agent.workerId()).isEqualTo(7);
  }

  @Test
  void anOfferedJobIsStartedRunAndReportedUntilTheServerConfirmsIt() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(offer(10, Jobs.command(dir, "sh", "-c", "echo hello; exit 3")));

    Message.Started started = peer.expect(Message.Started.class);
    assertThat(started.jobId()).isEqualTo(10);
    assertThat(started.attempt()).isEqualTo(1);
    Message.Ended ended = peer.expect(Message.Ended.class);
    assertThat(ended.jobId()).isEqualTo(10);
    assertThat(ended.outcome().exitCode()).isEqualTo(3);
    assertThat(ended.outcome().started()).isEqualTo(started.at());
    assertThat(ended.stdout()).isEqualTo(new CapturedOutput("hello\n", 0));
    assertThat(agent.unconfirmedResults()).containsExactly(new AttemptRef(10, 1));

    peer.send(new Message.ResultStored(10, 1));
    await().atMost(WAIT).until(() -> agent.unconfirmedResults().isEmpty());
  }

  @Test
  void aJobWhoseProgramIsMissingEndsWithAFailureAndNoStart() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(offer(11, Jobs.command(dir, "no-such-program-kueue")));

    Message.Ended ended = peer.expect(Message.Ended.class);
    assertThat(ended.outcome().failure()).isEqualTo("command not found: no-such-program-kueue");
    assertThat(ended.outcome().started()).isNull();
    assertThat(peer.receivedExceptHeartbeats()).noneMatch(m -> m instanceof Message.Started);
  }

  @Test
  void anOfferForAMissingWorkingDirectoryIsDeclinedForGood() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(offer(12, Jobs.command(dir.resolve("not-here"), "true")));

    Message.Declined declined = peer.expect(Message.Declined.class);
    assertThat(declined.jobId()).isEqualTo(12);
    assertThat(declined.permanent()).isTrue();
    assertThat(declined.reason())
        .isEqualTo(
            "working directory " + dir.resolve("not-here") + " does not exist on test-worker");
    assertThat(agent.runningAttempts()).isEmpty();
  }

  @Test
  void anOfferBeyondTheJobSlotsIsDeclinedForNow() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);
    JobSpec big =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd(dir.toString())
            .slots(5)
            .cpus(1)
            .ramMb(0)
            .globalResources(Map.of())
            .build();

    peer.send(offer(13, big));

    Message.Declined declined = peer.expect(Message.Declined.class);
    assertThat(declined.permanent()).isFalse();
    assertThat(declined.reason()).startsWith("no free job slots on test-worker");
  }

  @Test
  void aKillEndsTheJobAndItsEndIsReported() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);
    peer.send(new Message.Kill(99, 1, "unknown attempts are ignored"));
    peer.send(offer(14, Jobs.command(dir, "sleep", "1000")));
    peer.expect(Message.Started.class);

    peer.send(new Message.Kill(14, 1, "canceled by the user"));

    Message.Ended ended = peer.expect(Message.Ended.class);
    assertThat(ended.jobId()).isEqualTo(14);
    assertThat(ended.outcome().signal()).isEqualTo(15);
    assertThat(agent.runningAttempts()).isEmpty();
  }

  @Test
  void aRepeatedOfferIsAnsweredWithoutStartingTheJobTwice() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);
    JobSpec spec = Jobs.command(dir, "sh", "-c", "echo run >> runs; sleep 1000");

    peer.send(offer(15, spec));
    Message.Started first = peer.expect(Message.Started.class);
    peer.send(offer(15, spec));
    Message.Started second = peer.expect(Message.Started.class);

    assertThat(second).isEqualTo(first);
    assertThat(agent.runningAttempts()).containsExactly(new AttemptRef(15, 1));
    await().atMost(WAIT).until(() -> Files.exists(dir.resolve("runs")));
    assertThat(Files.readAllLines(dir.resolve("runs"))).containsExactly("run");
  }

  @Test
  void afterTheServerDropsJobsKeepRunningAndAreReReportedOnReconnect() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer first = registeredPeer(1);
    first.send(offer(20, waitForFile("a")));
    first.send(offer(21, waitForFile("b")));
    first.expect(Message.Started.class);
    first.expect(Message.Started.class);

    server.holdHandshakes();
    first.close();
    await().atMost(WAIT).until(() -> agent.workerId() == -1);
    Files.createFile(dir.resolve("a"));
    await().atMost(WAIT).until(() -> agent.unconfirmedResults().contains(new AttemptRef(20, 1)));
    server.openHandshakes();

    ScriptedServer.Peer second = server.awaitPeer();
    Message.Register register = second.expect(Message.Register.class);
    assertThat(register.running()).containsExactly(new AttemptRef(21, 1));
    assertThat(register.ended()).hasSize(1);
    Message.Ended endedWhileAway = register.ended().getFirst();
    assertThat(endedWhileAway.jobId()).isEqualTo(20);
    assertThat(endedWhileAway.outcome().exitCode()).isZero();
    assertThat(endedWhileAway.stdout().text()).isEqualTo("a\n");

    second.send(new Message.Registered(2));
    second.send(new Message.ResultStored(20, 1));
    Files.createFile(dir.resolve("b"));
    Message.Ended endedLater = second.expect(Message.Ended.class);
    assertThat(endedLater.jobId()).isEqualTo(21);
    assertThat(endedLater.stdout().text()).isEqualTo("b\n");
    await()
        .atMost(WAIT)
        .until(() -> agent.unconfirmedResults().equals(Set.of(new AttemptRef(21, 1))));
  }

  @Test
  void aResultNotYetConfirmedIsReportedAgainAfterAReconnect() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer first = registeredPeer(1);
    first.send(offer(22, Jobs.command(dir, "echo", "done")));
    first.expect(Message.Started.class);
    first.expect(Message.Ended.class);

    first.close();

    Message.Register register = server.awaitPeer().expect(Message.Register.class);
    assertThat(register.ended()).extracting(Message.Ended::jobId).containsExactly(22L);
    assertThat(register.running()).isEmpty();
  }

  @Test
  void aServerWithAnotherSecretGetsNoRegisterAndRunsNothing() throws Exception {
    // It holds the pinned key, so the worker proves the secret to it; the proof is refused, and
    // the job it pushed before anyone was authenticated is ignored.
    Path marker = dir.resolve("must-not-exist");
    startAgent("a-different-secret", Duration.ofSeconds(30));
    server.sendAfterChallenge(offer(30, Jobs.command(dir, "touch", marker.toString())));

    await().atMost(WAIT).until(() -> server.connections() >= 3);

    assertThat(server.handshakeMessages())
        .allMatch(m -> m instanceof Message.Hello || m instanceof Message.Authenticate);
    assertThat(marker).doesNotExist();
    assertThat(agent.workerId()).isEqualTo(-1);
    assertThat(agent.runningAttempts()).isEmpty();
  }

  @Test
  void stopKillsRunningJobsAndReleasesThemInsteadOfReportingThemEnded() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);
    peer.send(
        offer(
            40,
            Jobs.command(dir, "sh", "-c", "echo $$ > pid.tmp; mv pid.tmp pid; exec sleep 1000")));
    peer.expect(Message.Started.class);
    await().atMost(WAIT).until(() -> Files.exists(dir.resolve("pid")));
    ProcessHandle job =
        ProcessHandle.of(Long.parseLong(Files.readString(dir.resolve("pid")).strip()))
            .orElseThrow();

    agent.stop();

    assertThat(job.isAlive()).isFalse();
    assertThat(peer.awaitClosedByWorker(WAIT)).isTrue();
    assertThat(peer.receivedExceptHeartbeats())
        .containsExactly(new Message.Released(40, 1, "worker test-worker stopped"));
    agentThread.join(WAIT);
    assertThat(agentThread.isAlive()).isFalse();
  }

  @Test
  void oversizedOutputIsShortenedToFitIntoOneMessage() {
    String big = "x".repeat(6_000_000);
    Message.Ended ended =
        new Message.Ended(
            1,
            1,
            new JobOutcome(0, null, null, null, null),
            new CapturedOutput(big, 10),
            new CapturedOutput(big + "tail", 0));

    Message.Ended fitted = WorkerCore.fitForWire(ended);

    assertThat(MessageCodec.encode(fitted).length)
        .isLessThanOrEqualTo(MessageCodec.MAX_MESSAGE_BYTES / 2);
    assertThat(fitted.stderr().text()).endsWith("tail");
    assertThat(fitted.stdout().text().length() + fitted.stdout().droppedBytes())
        .isEqualTo(big.length() + 10);
    assertThat(fitted.stderr().text().length() + fitted.stderr().droppedBytes())
        .isEqualTo(big.length() + 4);
    assertThat(List.of(fitted.stdout(), fitted.stderr())).allMatch(CapturedOutput::truncated);
  }

  @Test
  void anOfferWithoutEnvironmentRunsWithTheOneItsSlotKeeps() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = server.awaitPeer();
    Message.Register register = peer.expect(Message.Register.class);
    assertThat(register.environmentSlots()).isEqualTo(WorkerAgent.ENVIRONMENT_SLOTS);
    peer.send(new Message.Registered(1));
    await().atMost(WAIT).until(() -> agent.workerId() == 1);
    Map<String, String> env = Map.of("PATH", System.getenv("PATH"), "WHO", "slot three");
    JobSpec printWho = Jobs.command(dir, "sh", "-c", "echo \"$WHO\"");

    peer.send(new Message.Offer(20, 1, Jobs.withEnv(printWho, env), 3));
    peer.send(new Message.Offer(21, 1, printWho, 3));

    Message.Ended first = peer.expect(Message.Ended.class, m -> m instanceof Message.Started);
    Message.Ended second = peer.expect(Message.Ended.class, m -> m instanceof Message.Started);
    assertThat(List.of(first.stdout().text(), second.stdout().text()))
        .containsExactly("slot three\n", "slot three\n");
  }

  @Test
  void anOfferNamingAnEmptySlotBreaksTheConnection() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(new Message.Offer(22, 1, Jobs.command(dir, "true"), 5));

    ScriptedServer.Peer again = server.awaitPeer();
    assertThat(again.expect(Message.Register.class).running()).isEmpty();
  }

  /**
   * A job that leaves two sleeps behind, one in its session and one that escaped it (setsid in a
   * shell that then ends), and writes their pids to the file "left".
   */
  private JobSpec leavingTwoSleepsBehind() {
    return Jobs.command(
        dir,
        "sh",
        "-c",
        "sleep 300 & echo $! > left.tmp; setsid sh -c 'sleep 300 & echo $! >> left.tmp';"
            + " mv left.tmp left; echo x");
  }

  private List<Long> leftPids() throws Exception {
    return Files.readAllLines(dir.resolve("left")).stream().map(Long::parseLong).toList();
  }

  private static boolean gone(long pid) {
    return !Files.exists(Path.of("/proc", Long.toString(pid)));
  }

  @Test
  void whatAJobLeftRunningIsEndedAndCollectedBeforeItsEndIsReported() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(offer(30, leavingTwoSleepsBehind()));

    Message.Ended ended = peer.expect(Message.Ended.class, m -> m instanceof Message.Started);
    assertThat(ended.outcome().exitCode()).isZero();
    List<Long> left = leftPids();
    assertThat(left).hasSize(2);
    await().atMost(WAIT).until(() -> left.stream().allMatch(WorkerAgentTest::gone));
  }

  @Test
  void withKeepChildrenWhatAJobLeftRunsOnAndIsCollectedWhenItEnds() throws Exception {
    startAgent(SECRET, Duration.ofSeconds(30));
    ScriptedServer.Peer peer = registeredPeer(1);

    peer.send(offer(31, leavingTwoSleepsBehind().withKeepChildren(true)));

    peer.expect(Message.Ended.class, m -> m instanceof Message.Started);
    List<Long> left = leftPids();
    try {
      assertThat(left)
          .allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    } finally {
      left.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }
    // Handed to the worker as their subreaper: collected by it, not left as zombies.
    await().atMost(WAIT).until(() -> left.stream().allMatch(WorkerAgentTest::gone));
  }

  private JobSpec waitForFile(String name) {
    return Jobs.command(
        dir, "sh", "-c", "while [ ! -e " + name + " ]; do sleep 0.05; done; echo " + name);
  }
}
