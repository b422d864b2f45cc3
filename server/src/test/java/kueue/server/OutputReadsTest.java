package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * read_output through a real server with raw workers: a running attempt's output comes from its
 * worker, asked only when someone reads; an ended one's from the store; a pending job is waited
 * for; a worker cannot answer for another.
 */
class OutputReadsTest {
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

  /** Sends the read on its own thread: a followed one is answered only once there is news. */
  private CompletableFuture<Message.OutputRead> read(OutputCursor cursor, boolean follow) {
    CompletableFuture<Message.OutputRead> answer = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                client.send(new Message.ReadOutput(List.of(cursor), follow));
                answer.complete((Message.OutputRead) client.receive());
              } catch (Exception e) {
                answer.completeExceptionally(e);
              }
            });
    return answer;
  }

  private long runningJob(RawPeer worker) throws Exception {
    long job = submit();
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    worker.send(new Message.Started(offer.jobId(), offer.attempt(), Instant.now()));
    // The start is stored once a read of the job is answered from it.
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      client.send(new Message.ShowJob(job));
      if (((Message.JobDetails) client.receive()).job().summary().state() == JobState.RUNNING) {
        return job;
      }
      assertThat(System.nanoTime()).as("job %d started", job).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Test
  void aRunningAttemptsOutputIsAskedOfItsWorkerWhileSomeoneReads() throws Exception {
    RawPeer worker =
        ServerFixture.keepAlive(fixture.registeredWorker("w", List.of(), List.of()), "w");
    long job = runningJob(worker);

    CompletableFuture<Message.OutputRead> answer = read(new OutputCursor(job, 1, 6L, 0L), true);
    Message.OutputRequest request = worker.receiveNext(Message.OutputRequest.class);
    assertThat(request.jobId()).isEqualTo(job);
    assertThat(request.attempt()).isEqualTo(1);
    assertThat(request.stdoutFrom()).isEqualTo(6);
    assertThat(request.stderrFrom()).isZero();
    assertThat(request.maxBytes()).isLessThanOrEqualTo(OutputReads.MAX_REPLY_BYTES);

    // Another worker cannot answer for it.
    RawPeer impostor =
        ServerFixture.keepAlive(fixture.registeredWorker("x", List.of(), List.of()), "x");
    impostor.send(
        new Message.Output(
            request.requestId(),
            job,
            1,
            true,
            false,
            List.of(new OutputPiece("stdout", 6, "forged\n")),
            13,
            0));
    List<OutputPiece> pieces =
        List.of(new OutputPiece("stdout", 6, "world\n"), new OutputPiece("stderr", 0, "oops\n"));
    worker.send(new Message.Output(request.requestId(), job, 1, true, false, pieces, 12, 5));

    OutputPart part = answer.get(10, TimeUnit.SECONDS).parts().getFirst();
    assertThat(part.pieces()).isEqualTo(pieces);
    assertThat(part.stdoutNext()).isEqualTo(12);
    assertThat(part.stderrNext()).isEqualTo(5);
    assertThat(part.complete()).isFalse();
    assertThat(part.job().state()).isEqualTo(JobState.RUNNING);
  }

  @Test
  void anEndedAttemptIsReadFromTheStoreFromTheReadersOffset() throws Exception {
    RawPeer worker =
        ServerFixture.keepAlive(fixture.registeredWorker("w", List.of(), List.of()), "w");
    long job = submit();
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    Instant now = Instant.now();
    worker.send(
        new Message.Ended(
            job,
            offer.attempt(),
            new JobOutcome(4, null, null, now, now),
            new CapturedOutput("hello\nworld\n", 0),
            new CapturedOutput("warning\n", 0)));
    worker.receiveNext(Message.ResultStored.class);

    OutputPart part =
        read(new OutputCursor(job, null, 6L, null), true)
            .get(10, TimeUnit.SECONDS)
            .parts()
            .getFirst();

    assertThat(part.pieces()).containsExactly(new OutputPiece("stdout", 6, "world\n"));
    assertThat(part.stdoutNext()).isEqualTo(12);
    assertThat(part.complete()).isTrue();
    assertThat(part.job().exitCode()).isEqualTo(4);
  }

  @Test
  void anEndedAttemptsStreamsAreGivenInTheOrderTheJobWroteThem() throws Exception {
    RawPeer worker =
        ServerFixture.keepAlive(fixture.registeredWorker("w", List.of(), List.of()), "w");
    long job = submit();
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    Instant now = Instant.now();
    // "one\n" to stdout, "warning\n" to stderr, "two\n" to stdout: switches 0, 1 and 2.
    worker.send(
        new Message.Ended(
            job,
            offer.attempt(),
            new JobOutcome(0, null, null, now, now),
            new CapturedOutput("one\ntwo\n", 0, List.of(0L, 0L, 2L, 4L)),
            new CapturedOutput("warning\n", 0, List.of(1L, 0L))));
    worker.receiveNext(Message.ResultStored.class);

    OutputPart all =
        read(new OutputCursor(job, null, 0L, 0L), false)
            .get(10, TimeUnit.SECONDS)
            .parts()
            .getFirst();
    OutputPart rest =
        read(new OutputCursor(job, null, 4L, 0L), false)
            .get(10, TimeUnit.SECONDS)
            .parts()
            .getFirst();

    assertThat(all.pieces())
        .containsExactly(
            new OutputPiece("stdout", 0, "one\n"),
            new OutputPiece("stderr", 0, "warning\n"),
            new OutputPiece("stdout", 4, "two\n"));
    assertThat(rest.pieces())
        .containsExactly(
            new OutputPiece("stderr", 0, "warning\n"), new OutputPiece("stdout", 4, "two\n"));
  }

  @Test
  void theWriteOrderStartsWithWhatPrecedesTheFirstKnownSwitchAndSurvivesACutCharacter() {
    byte[] out = "aé\nb\n".getBytes(java.nio.charset.StandardCharsets.UTF_8); // é is 2 bytes
    byte[] err = "E\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    // The tail of stdout starts at 10; the run of stdout at 12 begins inside "é".
    CapturedOutput[] outputs = {
      new CapturedOutput("", 10, List.of(5L, 12L)), new CapturedOutput("", 0, List.of(4L, 0L))
    };

    assertThat(OutputReads.writeOrder(outputs, new long[] {10, 0}, new byte[][] {out, err}))
        .containsExactly(
            new OutputReads.Segment(0, 10, 12),
            new OutputReads.Segment(1, 0, 0),
            new OutputReads.Segment(1, 0, 2),
            new OutputReads.Segment(0, 12, 16));
  }

  @Test
  void eachAttemptsOutputIsReadOnItsOwnAfterTheJobWasRequeued() throws Exception {
    RawPeer worker =
        ServerFixture.keepAlive(fixture.registeredWorker("w", List.of(), List.of()), "w");
    long job = submit();
    for (int attempt = 1; attempt <= 2; attempt++) {
      Message.Offer offer = worker.receiveNext(Message.Offer.class);
      assertThat(offer.attempt()).isEqualTo(attempt);
      Instant now = Instant.now();
      worker.send(
          new Message.Ended(
              job,
              offer.attempt(),
              new JobOutcome(attempt, null, null, now, now),
              new CapturedOutput("attempt " + attempt + "\n", 0),
              CapturedOutput.EMPTY));
      worker.receiveNext(Message.ResultStored.class);
      if (attempt == 1) {
        client.send(new Message.Requeue(List.of(job), null, false));
        client.receive();
      }
    }

    OutputPart first =
        read(new OutputCursor(job, 1, 0L, 0L), false).get(10, TimeUnit.SECONDS).parts().getFirst();
    OutputPart last =
        read(new OutputCursor(job, null, 0L, 0L), false)
            .get(10, TimeUnit.SECONDS)
            .parts()
            .getFirst();

    assertThat(first.attempt()).isEqualTo(1);
    assertThat(first.pieces()).containsExactly(new OutputPiece("stdout", 0, "attempt 1\n"));
    assertThat(first.complete()).isTrue();
    assertThat(last.attempt()).isEqualTo(2);
    assertThat(last.pieces()).containsExactly(new OutputPiece("stdout", 0, "attempt 2\n"));
  }

  /**
   * A worker joins, takes the pending job, starts it and, asked for its output once it runs,
   * answers "started"; returns what it answered.
   */
  private List<OutputPiece> startOnAWorkerThatAnswersStarted(long job) throws Exception {
    RawPeer worker =
        ServerFixture.keepAlive(fixture.registeredWorker("w", List.of(), List.of()), "w");
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    worker.send(new Message.Started(offer.jobId(), offer.attempt(), Instant.now()));
    Message.OutputRequest request = worker.receiveNext(Message.OutputRequest.class);
    List<OutputPiece> pieces = List.of(new OutputPiece("stdout", 0, "started\n"));
    worker.send(new Message.Output(request.requestId(), job, 1, true, false, pieces, 8, 0));
    return pieces;
  }

  @Test
  void aFollowedPendingJobIsAnsweredOnceItStarts() throws Exception {
    long job = submit();
    CompletableFuture<Message.OutputRead> answer = read(new OutputCursor(job, null, 0L, 0L), true);

    List<OutputPiece> pieces = startOnAWorkerThatAnswersStarted(job);

    OutputPart part = answer.get(10, TimeUnit.SECONDS).parts().getFirst();
    assertThat(part.attempt()).isEqualTo(1);
    assertThat(part.pieces()).isEqualTo(pieces);
  }

  @Test
  void aFollowedReadThatAskedForReasonsHearsWhyItsJobWaitsThenGetsItsAnswer() throws Exception {
    long job = submit();
    client.send(new Message.ReadOutput(List.of(new OutputCursor(job, null, 0L, 0L)), true, true));

    // No worker yet: said after the first second, before the read's one answer.
    assertThat(client.receive()).isEqualTo(new Message.PendingReason(job, "no worker connected"));
    List<OutputPiece> pieces = startOnAWorkerThatAnswersStarted(job);

    Message reply = client.receive();
    while (reply instanceof Message.PendingReason) {
      reply = client.receive(); // "none waits any more", if the check came before the answer
    }
    assertThat(reply).isInstanceOf(Message.OutputRead.class);
    assertThat(((Message.OutputRead) reply).parts().getFirst().pieces()).isEqualTo(pieces);
  }

  @Test
  void theNoteOfAWaitingJobsPartSaysWhyItWaits() throws Exception {
    long job = submit();
    client.send(new Message.ReadOutput(List.of(new OutputCursor(job, null, 0L, 0L)), false));
    OutputPart part = ((Message.OutputRead) client.receive()).parts().getFirst();
    assertThat(part.job().state()).isEqualTo(JobState.PENDING);
    assertThat(part.job().note()).isEqualTo("no worker connected");
  }

  @Test
  void anUnknownJobIsNotFound() throws Exception {
    client.send(new Message.ReadOutput(List.of(new OutputCursor(999, null, 0L, 0L)), false));
    Message reply = client.receive();
    assertThat(reply).isInstanceOf(Message.Failure.class);
    assertThat(((Message.Failure) reply).code()).isEqualTo("not_found");
    // Also when the read follows and asks for reasons, which is answered on another thread.
    client.send(new Message.ReadOutput(List.of(new OutputCursor(999, null, 0L, 0L)), true, true));
    reply = client.receive();
    assertThat(reply).isInstanceOf(Message.Failure.class);
    assertThat(((Message.Failure) reply).code()).isEqualTo("not_found");
  }
}
