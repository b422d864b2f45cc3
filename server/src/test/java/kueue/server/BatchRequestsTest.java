package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.model.BatchEntry;
import kueue.model.BatchSummary;
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
 * Batch requests against a real server on 127.0.0.1 with its SQLite store, without workers, so that
 * every accepted job stays pending where the test can count it.
 */
@Timeout(120)
class BatchRequestsTest {
  private static final String SECRET = "hXHOjdx-6enadgDV3xCOXVBxcwLj4EOGo2-azk-xh-E";

  @TempDir Path home;
  private KueueConfig config;
  private KueueServer server;
  private PeerConnection client;

  @BeforeEach
  void startServer() throws Exception {
    Path file = home.resolve("config.toml");
    Files.writeString(
        file,
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        [server]
        address_bindings = "127.0.0.1"
        data_directory = "%s"
        """
            .formatted(SECRET, freePort(), home.resolve("data")));
    Files.setPosixFilePermissions(
        file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    config = ConfigLoader.load(file, warning -> {}, Map.of("HOME", home.toString()));
    server = KueueServer.start(config, Clock.systemUTC(), () -> {});
    client = connect();
  }

  @AfterEach
  void stopServer() {
    client.close();
    server.close();
  }

  private PeerConnection connect() throws Exception {
    return PeerConnection.open(
        "127.0.0.1",
        server.addresses().getFirst().getPort(),
        SECRET,
        "client",
        "test",
        Duration.ofSeconds(10),
        kueue.protocol.TransportSecurity.client(config.common().serverKeyFile()));
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private Message request(Message.Request request) throws Exception {
    client.send(request);
    return client.receive();
  }

  private static JobSpec shared() {
    Map<String, String> env = new LinkedHashMap<>();
    for (int i = 0; i < 200; i++) {
      env.put("VARIABLE_" + i, "/opt/software/module-" + i + "/bin");
    }
    return JobSpecBuilder.builder()
        .argv(List.of("./sweep.sh"))
        .cwd("/home/ada/sweep")
        .env(env)
        .slots(1)
        .cpus(1)
        .ramMb(100)
        .globalResources(Map.of())
        .stdout("out-%a.txt")
        .build();
  }

  /** A job of its own: no batch index in its output name. */
  private static JobSpec single() {
    return shared().withStdout(null);
  }

  private static List<BatchEntry> array(int count) {
    List<BatchEntry> entries = new ArrayList<>(count);
    for (long index = 1; index <= count; index++) {
      entries.add(new BatchEntry(index, null));
    }
    return entries;
  }

  private BatchSummary onlyBatch() throws Exception {
    Message.BatchList list = (Message.BatchList) request(new Message.ListBatches(0, List.of()));
    assertThat(list.batches()).hasSize(1);
    return list.batches().getFirst();
  }

  @Test
  void aSubmissionTriedAgainWithItsKeyGetsTheJobsOfTheFirstTryAndCreatesNone() throws Exception {
    JobSpec keyed = shared().withSubmissionKey("9f2c51d0a7e34b6c8d1e2f3a4b5c6d7e");
    Message.BatchSubmitted batch =
        (Message.BatchSubmitted) request(new Message.SubmitBatch(keyed, array(3)));
    Message.Submitted single =
        (Message.Submitted)
            request(new Message.Submit(List.of(single().withSubmissionKey("single-try-key"))));

    // Tries that lost their answers, one of them on another connection, and two sent together.
    Message batchAgain = request(new Message.SubmitBatch(keyed, array(3)));
    try (PeerConnection other = connect()) {
      other.send(new Message.Submit(List.of(single().withSubmissionKey("single-try-key"))));
      other.send(new Message.Submit(List.of(single().withSubmissionKey("single-try-key"))));
      assertThat(other.receive()).isEqualTo(single);
      assertThat(other.receive()).isEqualTo(single);
    }

    assertThat(batchAgain).isEqualTo(batch);
    Message.JobList all = (Message.JobList) request(new Message.ListJobs(0, List.of()));
    assertThat(all.jobs()).hasSize(4);
    Message unkeyed = request(new Message.Submit(List.of(single())));
    assertThat(((Message.Submitted) unkeyed).ids()).containsExactly(5L);
  }

  @Test
  void aSubmissionKeyIsLimitedInLength() throws Exception {
    Message reply =
        request(new Message.Submit(List.of(shared().withSubmissionKey("k".repeat(101)))));

    assertThat(reply).isInstanceOf(Message.Failure.class);
    assertThat(((Message.Failure) reply).message()).contains("1 to 100 characters");
  }

  @Test
  void aHundredThousandJobBatchIsAcceptedInOneRequestAndStoredBeforeTheReply() throws Exception {
    Message reply = request(new Message.SubmitBatch(shared(), array(100_000)));

    assertThat(reply).isInstanceOf(Message.BatchSubmitted.class);
    Message.BatchSubmitted submitted = (Message.BatchSubmitted) reply;
    assertThat(submitted.batch()).isEqualTo(1);
    assertThat(submitted.ids()).hasSize(100_000).startsWith(1L).endsWith(100_000L);
    BatchSummary batch = onlyBatch();
    assertThat(batch.jobs()).isEqualTo(100_000);
    assertThat(batch.stats().pending()).isEqualTo(100_000);
    Message.JobDetails last = (Message.JobDetails) request(new Message.ShowJob(100_000));
    assertThat(last.job().spec().stdout()).isEqualTo("out-100000.txt");
    assertThat(last.job().summary().arrayIndex()).isEqualTo(100_000L);
    assertThat(last.job().envVariables()).isEqualTo(200);
  }

  @Test
  void oneBadEntryQueuesNothingAndTheFailureNamesItsIndex() throws Exception {
    List<BatchEntry> lines =
        List.of(
            new BatchEntry(1, List.of("/bin/sh", "-c", "echo one")),
            new BatchEntry(4, List.of("/bin/sh", "-c", "echo \0four")),
            new BatchEntry(5, List.of("/bin/sh", "-c", "echo five")));

    Message reply = request(new Message.SubmitBatch(shared(), lines));

    assertThat(reply).isInstanceOf(Message.Failure.class);
    assertThat(((Message.Failure) reply).code()).isEqualTo("rejected");
    assertThat(((Message.Failure) reply).message()).startsWith("index 4: ").contains("NUL");
    Message.JobList jobs = (Message.JobList) request(new Message.ListJobs(0, List.of()));
    assertThat(jobs.jobs()).isEmpty();
    assertThat(jobs.stats().pending()).isZero();
    Message next = request(new Message.SubmitBatch(shared(), array(2)));
    assertThat(((Message.BatchSubmitted) next).ids()).containsExactly(1L, 2L);
  }

  @Test
  void removingABatchCancelsAllItsPendingJobsInOneRequestAndWaitingSeesThemEnd() throws Exception {
    request(new Message.SubmitBatch(shared(), array(3)));
    Message.BatchSubmitted submitted =
        (Message.BatchSubmitted) request(new Message.SubmitBatch(shared(), array(10)));

    Message.BatchRemoved removed =
        (Message.BatchRemoved) request(new Message.RemoveBatch(submitted.batch(), false));
    Message.BatchEnded ended = (Message.BatchEnded) request(new Message.WaitBatch(4));
    Message again = request(new Message.RemoveBatch(4, true));

    assertThat(submitted.batch()).isEqualTo(4);
    assertThat(removed.canceled()).isEqualTo(10);
    assertThat(removed.left()).isZero();
    assertThat(removed.batch().stats().canceled()).isEqualTo(10);
    assertThat(ended.batch().firstFailure().id()).isEqualTo(4);
    assertThat(ended.batch().ended()).isNotNull();
    assertThat(((Message.Failure) again).message()).contains("no pending or running jobs");
    Message.JobList first = (Message.JobList) request(new Message.ListJobs(0, List.of(), 1L));
    assertThat(first.stats().pending()).isEqualTo(3);
    assertThat(first.jobs()).extracting(job -> job.arrayIndex()).containsExactly(1L, 2L, 3L);
  }

  @Test
  void findJobsAnswersOnePageAfterTheCursorAndRefusesABadLimit() throws Exception {
    request(new Message.SubmitBatch(shared(), array(5)));

    Message.JobList page =
        (Message.JobList)
            request(
                new Message.FindJobs(
                    new kueue.model.JobQuery(List.of(), 1L, null, null, true, 4L, 2)));
    Message reply =
        request(
            new Message.FindJobs(
                new kueue.model.JobQuery(List.of(), null, null, null, true, null, 0)));

    assertThat(page.jobs()).extracting(job -> job.id()).containsExactly(3L, 2L);
    assertThat(page.jobs().getFirst().note()).as("why it is pending").isNotNull();
    assertThat(page.stats().pending()).isEqualTo(5);
    assertThat(
            ((Message.JobList)
                    request(
                        new Message.FindJobs(
                            new kueue.model.JobQuery(List.of(), 42L, null, null, true, null, 5))))
                .jobs())
        .isEmpty();
    assertThat(((Message.Failure) reply).code()).isEqualTo("bad_request");
  }

  @Test
  void countEndedAnswersPerMinuteAndRefusesAMissingTime() throws Exception {
    request(new Message.SubmitBatch(shared(), array(3)));
    request(new Message.RemoveBatch(1, false));

    Message.EndedPerMinute none =
        (Message.EndedPerMinute)
            request(new Message.CountEnded(java.time.Instant.now().minusSeconds(3600)));
    Message missing = request(new Message.CountEnded(null));

    assertThat(none.minutes()).as("canceled jobs did not end with an exit code").isEmpty();
    assertThat(((Message.Failure) missing).code()).isEqualTo("bad_request");
  }

  @Test
  void anUnknownBatchIsNotFound() throws Exception {
    for (Message.Request request :
        List.<Message.Request>of(
            new Message.WaitBatch(42),
            new Message.RemoveBatch(42, false),
            new Message.ListJobs(0, List.of(), 42L))) {
      Message reply = request(request);
      assertThat(reply).isInstanceOf(Message.Failure.class);
      assertThat(((Message.Failure) reply).code()).isEqualTo("not_found");
      assertThat(((Message.Failure) reply).message()).contains("batch 42 not found");
    }
  }

  @Test
  void aBatchSurvivesARestartOfTheServer() throws Exception {
    request(new Message.SubmitBatch(shared(), array(5)));
    client.close();
    server.close();

    server = KueueServer.start(config, Clock.systemUTC(), () -> {});
    client = connect();

    BatchSummary batch = onlyBatch();
    assertThat(batch.batch()).isEqualTo(1);
    assertThat(batch.stats().pending()).isEqualTo(5);
    Message.JobDetails job = (Message.JobDetails) request(new Message.ShowJob(3));
    assertThat(job.job().summary().batch()).isEqualTo(1L);
    assertThat(job.job().summary().arrayIndex()).isEqualTo(3L);
  }
}
