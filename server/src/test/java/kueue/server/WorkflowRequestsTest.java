package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.BatchEntry;
import kueue.model.Dependency;
import kueue.model.JobFilter;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobState;
import kueue.model.JobUpdate;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Holds, dependencies and requeues against a real server on 127.0.0.1 with its SQLite store,
 * without workers: jobs end only by being canceled, which is enough to settle dependents.
 */
@Timeout(120)
class WorkflowRequestsTest {
  @TempDir Path home;
  private ServerFixture fixture;
  private PeerConnection client;

  @BeforeEach
  void startServer() throws Exception {
    fixture = ServerFixture.start(home, "tls", "", ServerFixture.standardLimits());
    client = fixture.client();
  }

  @AfterEach
  void stopServer() {
    client.close();
    fixture.close();
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
        .build();
  }

  private static List<BatchEntry> array(int count) {
    List<BatchEntry> entries = new ArrayList<>(count);
    for (long index = 1; index <= count; index++) {
      entries.add(new BatchEntry(index, null));
    }
    return entries;
  }

  private long submit(JobSpec spec) throws Exception {
    Message reply = request(new Message.Submit(List.of(spec)));
    assertThat(reply).isInstanceOf(Message.Submitted.class);
    return ((Message.Submitted) reply).ids().getFirst();
  }

  private JobState state(long id) throws Exception {
    return ((Message.JobDetails) request(new Message.ShowJob(id))).job().summary().state();
  }

  private String note(long id) throws Exception {
    return ((Message.JobDetails) request(new Message.ShowJob(id))).job().summary().note();
  }

  @Test
  void aBatchWaitsForItsParentAndIsCanceledWithItDownTheChain() throws Exception {
    long parent = submit(shared().withHold(true));
    Message.BatchSubmitted batch =
        (Message.BatchSubmitted)
            request(
                new Message.SubmitBatch(
                    shared().withDependencies(Dependency.parse("afterok:" + parent)), array(3)));
    long last = submit(shared().withDependencies(Dependency.parse("afterok:" + batch.batch())));
    Message unknown =
        request(
            new Message.Submit(List.of(shared().withDependencies(Dependency.parseAfter("99")))));

    Message.JobList waiting =
        (Message.JobList) request(new Message.ListJobs(0, List.of(JobFilter.WAITING)));
    assertThat(waiting.jobs()).hasSize(4);
    assertThat(waiting.stats().held()).isEqualTo(1);
    assertThat(waiting.jobs().getFirst().note())
        .isEqualTo("1 dependency not met yet (show-job 2 lists them)");
    assertThat(((Message.Failure) unknown).message()).contains("job 99 not found");
    Message.JobDetails detail = (Message.JobDetails) request(new Message.ShowJob(last));
    assertThat(detail.job().dependencies()).hasSize(3);

    request(new Message.RemoveJob(parent, false));
    Message.JobsEnded ended = (Message.JobsEnded) request(new Message.WaitJobs(List.of(last)));

    assertThat(ended.jobs().getFirst().state()).isEqualTo(JobState.CANCELED);
    assertThat(note(batch.batch()))
        .isEqualTo("dependency on job " + parent + " failed: it was canceled");
    assertThat(note(last))
        .isEqualTo("dependency on job " + batch.batch() + " failed: it was canceled");
  }

  @Test
  void holdReleaseAndPriorityChangeJobsThatHaveNotStarted() throws Exception {
    long job = submit(shared());
    Message.BatchSubmitted batch =
        (Message.BatchSubmitted) request(new Message.SubmitBatch(shared(), array(2)));

    Message.JobsUpdated held =
        (Message.JobsUpdated)
            request(new Message.UpdateJobs(null, batch.batch(), JobUpdate.holding(true)));
    Message.JobsUpdated changed =
        (Message.JobsUpdated)
            request(new Message.UpdateJobs(List.of(job, 42L), null, new JobUpdate(null, 5)));
    Message.JobsUpdated notHeld =
        (Message.JobsUpdated)
            request(new Message.UpdateJobs(List.of(job), null, JobUpdate.holding(false)));

    assertThat(held.updated()).containsExactly(batch.batch(), batch.batch() + 1);
    assertThat(state(batch.batch())).isEqualTo(JobState.HELD);
    assertThat(changed.updated()).containsExactly(job);
    assertThat(changed.skipped()).containsExactly("job 42 not found");
    assertThat(((Message.JobDetails) request(new Message.ShowJob(job))).job().spec().priority())
        .isEqualTo(5);
    assertThat(notHeld.skipped()).containsExactly("job " + job + " is not held");
    request(new Message.UpdateJobs(null, batch.batch(), JobUpdate.holding(false)));
    assertThat(state(batch.batch())).isEqualTo(JobState.PENDING);
  }

  @Test
  void aRequeuedParentBringsItsChainBackAndBothSurviveARestart() throws Exception {
    long parent = submit(shared());
    long child = submit(shared().withDependencies(Dependency.parseAfter(String.valueOf(parent))));
    request(new Message.RemoveJob(parent, false));
    assertThat(state(child)).isEqualTo(JobState.CANCELED);

    Message.JobsUpdated requeued =
        (Message.JobsUpdated) request(new Message.Requeue(List.of(parent, 77L), null, false));

    assertThat(requeued.updated()).containsExactly(parent, child);
    assertThat(requeued.skipped()).containsExactly("job 77 not found");
    assertThat(state(parent)).isEqualTo(JobState.PENDING);
    assertThat(state(child)).isEqualTo(JobState.WAITING);

    client.close();
    fixture = fixture.restart();
    client = fixture.client();

    assertThat(state(child)).isEqualTo(JobState.WAITING);
    request(new Message.RemoveJob(parent, false));
    request(new Message.WaitJobs(List.of(child)));
    assertThat(note(child)).isEqualTo("dependency on job " + parent + " failed: it was canceled");
  }

  @Test
  void aWaitThatAskedForReasonsHearsWhyItsJobWaitsAfterASecondAndAgainWhenThatChanges()
      throws Exception {
    long job = submit(shared().withHold(true));
    PeerConnection other = fixture.client();
    try {
      long waitStart = System.nanoTime();
      client.send(new Message.WaitJobs(List.of(job), true));
      Message first = client.receive();
      long firstAfterMillis = (System.nanoTime() - waitStart) / 1_000_000;
      other.send(new Message.UpdateJobs(List.of(job), null, JobUpdate.holding(false)));
      other.receive();
      Message second = client.receive();
      other.send(new Message.RemoveJob(job, false));
      other.receive();
      Message reply = client.receive();

      assertThat(firstAfterMillis).isGreaterThanOrEqualTo(900);
      assertThat(first)
          .isEqualTo(
              new Message.PendingReason(job, "held until released (kueue release " + job + ")"));
      assertThat(second).isEqualTo(new Message.PendingReason(job, "no worker connected"));
      assertThat(reply).isInstanceOf(Message.JobsEnded.class);
      // Without the flag, the one reply as before.
      long another = submit(shared().withHold(true));
      other.send(new Message.RemoveJob(another, false));
      other.receive();
      assertThat(request(new Message.WaitJobs(List.of(another))))
          .isInstanceOf(Message.JobsEnded.class);
    } finally {
      other.close();
    }
  }
}
