package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Offers to a worker that keeps environments: each environment crosses the connection once while
 * the worker holds it, and an evicted one is sent again; a worker that keeps none gets every
 * environment in full.
 */
@Timeout(60)
class EnvironmentSlotsTest {
  private static final Map<String, String> A = Map.of("PATH", "/usr/bin", "WHO", "a");
  private static final Map<String, String> B = Map.of("PATH", "/usr/bin", "WHO", "b");
  private static final Map<String, String> C = Map.of("PATH", "/bin", "WHO", "c");

  @TempDir Path home;
  private ServerFixture fixture;
  private PeerConnection client;

  @BeforeEach
  void start() throws Exception {
    fixture = ServerFixture.start(home, "none", "", ServerFixture.standardLimits());
    client = fixture.client();
  }

  @AfterEach
  void stop() {
    client.close();
    fixture.close();
  }

  private List<Long> submit(List<Map<String, String>> environments) throws Exception {
    List<JobSpec> specs =
        environments.stream()
            .map(
                env ->
                    JobSpecBuilder.builder()
                        .argv(List.of("true"))
                        .cwd("/tmp")
                        .env(env)
                        .slots(1)
                        .cpus(1)
                        .ramMb(100)
                        .globalResources(Map.of())
                        .build())
            .toList();
    client.send(new Message.Submit(specs));
    return ((Message.Submitted) client.receive()).ids();
  }

  private RawPeer worker(Integer slots) throws Exception {
    RawPeer worker = fixture.authenticated("worker");
    worker.send(
        new Message.Register(
            "w", ServerFixture.system("w"), ServerFixture.capacity(), List.of(), List.of(), slots));
    assertThat(worker.receive()).isInstanceOf(Message.Registered.class);
    return ServerFixture.keepAlive(worker, "w");
  }

  private static void finish(RawPeer worker, Message.Offer offer) throws Exception {
    Instant now = Instant.now();
    worker.send(new Message.Started(offer.jobId(), offer.attempt(), now));
    worker.send(
        new Message.Ended(
            offer.jobId(),
            offer.attempt(),
            new JobOutcome(0, null, null, now, now),
            CapturedOutput.EMPTY,
            CapturedOutput.EMPTY));
  }

  @Test
  void anEnvironmentIsSentOncePerSlotAndAgainAfterItsSlotWasReused() throws Exception {
    RawPeer worker = worker(2);
    List<Long> ids = submit(List.of(A, A, B));
    Message.Offer first = worker.receiveNext(Message.Offer.class);
    Message.Offer second = worker.receiveNext(Message.Offer.class);
    Message.Offer third = worker.receiveNext(Message.Offer.class);
    assertThat(List.of(first.jobId(), second.jobId(), third.jobId())).isEqualTo(ids);
    assertThat(first.envSlot()).isEqualTo(0);
    assertThat(first.spec().env()).isEqualTo(A);
    assertThat(second.envSlot()).as("the same environment: only its slot").isEqualTo(0);
    assertThat(second.spec().env()).isNull();
    assertThat(second.spec().argv()).isEqualTo(List.of("true"));
    assertThat(third.envSlot()).isEqualTo(1);
    assertThat(third.spec().env()).isEqualTo(B);
    finish(worker, first);
    finish(worker, second);
    finish(worker, third);

    // Two slots: C takes A's slot, so A must come in full again (into B's slot).
    submit(List.of(C));
    Message.Offer fourth = worker.receiveNext(Message.Offer.class);
    assertThat(fourth.envSlot()).isEqualTo(0);
    assertThat(fourth.spec().env()).isEqualTo(C);
    submit(List.of(A));
    Message.Offer fifth = worker.receiveNext(Message.Offer.class);
    assertThat(fifth.envSlot()).isEqualTo(1);
    assertThat(fifth.spec().env()).isEqualTo(A);
    worker.close();
  }

  @Test
  void aWorkerThatKeepsNoEnvironmentsGetsEveryEnvironmentInFull() throws Exception {
    RawPeer worker = worker(null);
    submit(List.of(A, A));
    Message.Offer first = worker.receiveNext(Message.Offer.class);
    Message.Offer second = worker.receiveNext(Message.Offer.class);
    assertThat(first.envSlot()).isNull();
    assertThat(first.spec().env()).isEqualTo(A);
    assertThat(second.envSlot()).isNull();
    assertThat(second.spec().env()).isEqualTo(A);
    worker.close();
  }
}
