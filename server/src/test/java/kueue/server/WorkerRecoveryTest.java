package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobDetail;
import kueue.model.JobEvent;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers that go away and come back, against a real server: workers are scripted connections, so
 * the test decides exactly what each attempt reports and when.
 */
@Timeout(60)
class WorkerRecoveryTest {
  @TempDir Path home;
  private ServerFixture fixture;
  private PeerConnection client;

  @BeforeEach
  void start() throws Exception {
    fixture =
        ServerFixture.start(
            home, "none", "worker_timeout_seconds = 2", ServerFixture.standardLimits());
    client = fixture.client();
  }

  @AfterEach
  void stop() {
    client.close();
    fixture.close();
  }

  private long submit() throws Exception {
    client.send(
        new Message.Submit(
            List.of(
                JobSpecBuilder.builder()
                    .argv(List.of("true"))
                    .cwd("/tmp")
                    .slots(1)
                    .cpus(1)
                    .ramMb(100)
                    .globalResources(Map.of())
                    .build())));
    return ((Message.Submitted) client.receive()).ids().getFirst();
  }

  private JobDetail show(long id) throws Exception {
    client.send(new Message.ShowJob(id));
    return ((Message.JobDetails) client.receive()).job();
  }

  private static Message.Ended ended(long job, int attempt, int exitCode, String stdout) {
    Instant now = Instant.now();
    return new Message.Ended(
        job,
        attempt,
        new JobOutcome(exitCode, null, null, now, now),
        new CapturedOutput(stdout, 0),
        CapturedOutput.EMPTY);
  }

  /** Waits for the job's state without sleeping a fixed time. */
  private JobDetail awaitState(long id, JobState state) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (System.nanoTime() < deadline) {
      JobDetail detail = show(id);
      if (detail.summary().state() == state) {
        return detail;
      }
      Thread.onSpinWait();
      Thread.sleep(20);
    }
    throw new AssertionError("job " + id + " did not become " + state);
  }

  @Test
  void aLateResultOfASupersededAttemptIsConfirmedButIgnoredAndTheCurrentAttemptDecides()
      throws Exception {
    long job = submit();
    RawPeer first = fixture.registeredWorker("first", List.of(), List.of());
    assertThat(first.receiveNext(Message.Offer.class).attempt()).isEqualTo(1);
    first.send(new Message.Started(job, 1, Instant.now()));
    awaitState(job, JobState.RUNNING);
    first.close();

    RawPeer second =
        ServerFixture.keepAlive(fixture.registeredWorker("second", List.of(), List.of()), "second");
    Message.Offer retry = second.receiveNext(Message.Offer.class);
    assertThat(retry.attempt()).as("requeued after the worker timeout").isEqualTo(2);
    second.send(new Message.Started(job, 2, Instant.now()));
    RawPeer back =
        fixture.registeredWorker("first", List.of(), List.of(ended(job, 1, 0, "late\n")));
    Message kill = back.receive();
    Message stored = back.receive();
    second.send(ended(job, 2, 3, "current\n"));
    JobDetail detail = awaitState(job, JobState.FINISHED);

    assertThat(kill).isEqualTo(new Message.Kill(job, 1, "superseded"));
    assertThat(stored).isEqualTo(new Message.ResultStored(job, 1));
    assertThat(detail.summary().exitCode()).isEqualTo(3);
    assertThat(detail.summary().attempt()).isEqualTo(2);
    assertThat(detail.summary().worker()).isEqualTo("second");
    assertThat(detail.stdout().text()).isEqualTo("current\n");
    assertThat(detail.history())
        .extracting(JobEvent::attempt, JobEvent::what)
        .contains(
            org.assertj.core.groups.Tuple.tuple(1, "requeued"),
            org.assertj.core.groups.Tuple.tuple(2, "ended"))
        .doesNotContain(org.assertj.core.groups.Tuple.tuple(1, "ended"));
  }

  private long register(String name) throws Exception {
    RawPeer worker = fixture.authenticated("worker");
    worker.send(
        new Message.Register(
            name, ServerFixture.system(name), ServerFixture.capacity(), List.of(), List.of()));
    workers.add(worker);
    return ((Message.Registered) worker.receive()).workerId();
  }

  private final java.util.List<RawPeer> workers = new java.util.ArrayList<>();

  private void closeWorkersAndAwaitTheirDisconnects() throws Exception {
    for (RawPeer worker : workers) {
      worker.close();
    }
    workers.clear();
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      client.send(new Message.ListWorkers());
      if (((Message.WorkerList) client.receive()).workers().isEmpty()) {
        return;
      }
      assertThat(System.nanoTime() - deadline).as("workers still connected").isNegative();
      Thread.sleep(20);
    }
  }

  @Test
  void aWorkerKeepsItsIdByNameAcrossReconnectionsAndRestartsAndTwoOfOneNameAtOnceGetTwo()
      throws Exception {
    long alpha = register("alpha");
    long beta = register("beta");
    long alphaTwin = register("alpha");
    assertThat(List.of(alpha, beta, alphaTwin)).doesNotHaveDuplicates();
    closeWorkersAndAwaitTheirDisconnects();

    assertThat(register("alpha")).isEqualTo(alpha);
    closeWorkersAndAwaitTheirDisconnects();
    client.close();
    fixture = fixture.restart();
    client = fixture.client();

    assertThat(register("beta")).isEqualTo(beta);
    assertThat(register("alpha")).isEqualTo(alpha);
    assertThat(register("gamma")).isNotIn(alpha, beta);
    closeWorkersAndAwaitTheirDisconnects();
  }

  @Test
  void aWorkerThatReconnectsWithinTheTimeoutKeepsItsJobAsTheSameAttempt() throws Exception {
    long job = submit();
    RawPeer first = fixture.registeredWorker("alpha", List.of(), List.of());
    first.receiveNext(Message.Offer.class);
    first.send(new Message.Started(job, 1, Instant.now()));
    awaitState(job, JobState.RUNNING);

    first.close();
    RawPeer back = fixture.registeredWorker("alpha", List.of(new AttemptRef(job, 1)), List.of());
    back.send(ended(job, 1, 0, "kept\n"));
    JobDetail detail = awaitState(job, JobState.FINISHED);

    assertThat(detail.summary().attempt()).isEqualTo(1);
    assertThat(detail.summary().exitCode()).isZero();
    assertThat(detail.stdout().text()).isEqualTo("kept\n");
    assertThat(detail.history()).extracting(JobEvent::what).doesNotContain("requeued");
  }

  @Test
  void aReleasedAttemptRunsAgainElsewhereAtOnce() throws Exception {
    long job = submit();
    RawPeer stopping = fixture.registeredWorker("stopping", List.of(), List.of());
    Message.Offer first = stopping.receiveNext(Message.Offer.class);
    stopping.send(new Message.Started(job, 1, Instant.now()));
    awaitState(job, JobState.RUNNING);
    RawPeer other =
        ServerFixture.keepAlive(fixture.registeredWorker("other", List.of(), List.of()), "other");
    long released = System.nanoTime();

    stopping.send(new Message.Released(job, 1, "worker stopping stopped"));
    stopping.close();
    Message.Offer offer = other.receiveNext(Message.Offer.class);

    assertThat(offer.attempt()).isEqualTo(2);
    // The first offer's spec came from the loop's cache of queued specs, this one from the store.
    assertThat(offer.spec().argv()).isEqualTo(first.spec().argv()).isNotEmpty();
    assertThat(offer.spec().cwd()).isEqualTo(first.spec().cwd()).isNotNull();
    assertThat((System.nanoTime() - released) / 1_000_000)
        .as("well before the 2 s worker timeout")
        .isLessThan(1_500);
    assertThat(show(job).history())
        .extracting(JobEvent::detail)
        .contains("worker stopping released it: worker stopping stopped");
  }

  @Test
  void everyHeartbeatIsAcknowledged() throws Exception {
    RawPeer worker = fixture.registeredWorker("beating", List.of(), List.of());

    worker.send(new Message.Heartbeat(ServerFixture.system("beating"), ServerFixture.capacity()));
    worker.send(new Message.Heartbeat(ServerFixture.system("beating"), ServerFixture.capacity()));

    assertThat(worker.receive()).isEqualTo(new Message.HeartbeatAck());
    assertThat(worker.receive()).isEqualTo(new Message.HeartbeatAck());
  }

  @Test
  void aSilentWorkerIsCutOffAndItsJobRunsElsewhere() throws Exception {
    long job = submit();
    RawPeer silent = fixture.registeredWorker("silent", List.of(), List.of());
    silent.receiveNext(Message.Offer.class);
    silent.send(new Message.Started(job, 1, Instant.now()));
    RawPeer other =
        ServerFixture.keepAlive(fixture.registeredWorker("other", List.of(), List.of()), "other");

    Message.Offer offer = other.receiveNext(Message.Offer.class);

    assertThat(offer.attempt()).isEqualTo(2);
    Message last;
    do {
      last = silent.receive();
    } while (last != null);
    assertThat(fixture.logLines()).anyMatch(line -> line.contains("presumed lost"));
  }
}
