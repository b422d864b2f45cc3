package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.BatchEntry;
import kueue.model.BatchSummary;
import kueue.model.JobFilter;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import org.junit.jupiter.api.Test;

class BatchMessagesTest {
  private static final int MOST_JOBS_PER_SUBMIT = 100_000;

  /** A realistic, large environment: 200 variables of about 100 characters each. */
  private static Map<String, String> largeEnvironment() {
    Map<String, String> env = new LinkedHashMap<>();
    for (int i = 0; i < 200; i++) {
      env.put("VARIABLE_" + i, "/opt/software/module-" + i + "/bin:".repeat(3));
    }
    env.put("MARKER", "appears-once-per-message");
    return env;
  }

  private static JobSpec shared(List<String> argv) {
    return JobSpecBuilder.builder()
        .argv(argv)
        .cwd("/home/ada/sweep")
        .env(largeEnvironment())
        .slots(1)
        .cpus(1)
        .ramMb(1024)
        .globalResources(Map.of())
        .stdout("out-%a.txt")
        .build();
  }

  private static Message roundTrip(Message message) throws ProtocolException {
    byte[] line = MessageCodec.encode(message);
    return MessageCodec.decode(Arrays.copyOf(line, line.length - 1));
  }

  private static int occurrences(String text, String part) {
    return text.split(part, -1).length - 1;
  }

  @Test
  void aHundredThousandJobArrayFitsInOneMessageWithTheEnvironmentSentOnce() throws Exception {
    List<BatchEntry> entries = new ArrayList<>();
    for (long index = 1; index <= MOST_JOBS_PER_SUBMIT; index++) {
      entries.add(new BatchEntry(index, null));
    }
    Message.SubmitBatch batch =
        new Message.SubmitBatch(shared(List.of("python", "train.py", "--epochs", "30")), entries);

    byte[] line = MessageCodec.encode(batch);

    assertThat(line.length).isLessThan(MessageCodec.MAX_MESSAGE_BYTES);
    assertThat(occurrences(new String(line, StandardCharsets.UTF_8), "appears-once-per-message"))
        .isEqualTo(1);
    assertThat(roundTrip(batch)).isEqualTo(batch);
  }

  @Test
  void aHundredThousandLineFileOfTypicalCommandsFitsInOneMessage() throws Exception {
    List<BatchEntry> entries = new ArrayList<>();
    for (long line = 1; line <= MOST_JOBS_PER_SUBMIT; line++) {
      String command =
          "python train.py --seed " + line + " --lr 0.001 --out results/run-" + line + ".json";
      entries.add(new BatchEntry(line, List.of("/bin/sh", "-c", command)));
    }
    Message.SubmitBatch batch = new Message.SubmitBatch(shared(List.of()), entries);

    byte[] line = MessageCodec.encode(batch);

    assertThat(line.length).isLessThan(MessageCodec.MAX_MESSAGE_BYTES);
    assertThat(roundTrip(batch)).isEqualTo(batch);
  }

  @Test
  void batchRepliesAndRequestsSurviveTheWire() throws Exception {
    JobStats stats = new JobStats(1, 0, 2, 3, 1, 0, 1.5, 4.0);
    JobSummary failure =
        JobSummaryBuilder.builder()
            .id(14)
            .state(JobState.FINISHED)
            .command("./run")
            .cwd("/w")
            .slots(1)
            .cpus(1)
            .ramMb(100)
            .attempt(1)
            .worker("alpha")
            .submitted(Instant.EPOCH)
            .started(Instant.EPOCH)
            .ended(Instant.EPOCH)
            .exitCode(3)
            .batch(12L)
            .arrayIndex(3L)
            .build();
    BatchSummary summary =
        new BatchSummary(12, "./run", "/w", 12, 18, 7, Instant.EPOCH, null, stats, failure);

    for (Message message :
        List.<Message>of(
            new Message.BatchSubmitted(12, List.of(12L, 13L)),
            new Message.ListBatches(20, List.of(JobFilter.FAILED)),
            new Message.BatchList(List.of(summary), stats),
            new Message.WaitBatch(12),
            new Message.BatchEnded(summary),
            new Message.RemoveBatch(12, true),
            new Message.BatchRemoved(summary, 3, 2),
            new Message.ListJobs(10, List.of(), 12L))) {
      assertThat(roundTrip(message)).isEqualTo(message);
    }
  }

  @Test
  void messagesWithoutTheBatchFieldsStillReadAsJobsOutsideABatch() throws Exception {
    String submit =
        "{\"type\":\"submit\",\"jobs\":[{\"argv\":[\"true\"],\"cwd\":\"/w\",\"env\":null,"
            + "\"slots\":1,\"cpus\":1,\"ramMb\":10,\"globalResources\":{},"
            + "\"stdout\":null,\"stderr\":null}]}";
    String list = "{\"type\":\"list_jobs\",\"limit\":5,\"filters\":[]}";

    Message.Submit decoded =
        (Message.Submit) MessageCodec.decode(submit.getBytes(StandardCharsets.UTF_8));
    Message.ListJobs listJobs =
        (Message.ListJobs) MessageCodec.decode(list.getBytes(StandardCharsets.UTF_8));

    assertThat(decoded.jobs().getFirst().batch()).isNull();
    assertThat(decoded.jobs().getFirst().arrayIndex()).isNull();
    assertThat(decoded.jobs().getFirst().priority()).isZero();
    assertThat(decoded.jobs().getFirst().hold()).isFalse();
    assertThat(decoded.jobs().getFirst().dependencies()).isEmpty();
    assertThat(listJobs).isEqualTo(new Message.ListJobs(5, List.of()));
  }
}
