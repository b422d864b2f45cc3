package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.JobUpdate;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job queued while no worker is connected keeps its spec in the server's cache; the offer after
 * an update-job must carry the new time limit and retries all the same.
 */
@Timeout(60)
class UpdateJobOfferTest {
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

  @Test
  void theOfferAfterAnUpdateCarriesTheNewTimeLimitAndRetries() throws Exception {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("true"))
            .cwd("/tmp")
            .env(Map.of("PATH", "/usr/bin"))
            .slots(1)
            .cpus(1)
            .ramMb(100)
            .globalResources(Map.of())
            .timeLimitSeconds(30L)
            .build();
    client.send(new Message.Submit(List.of(spec)));
    long job = ((Message.Submitted) client.receive()).ids().getFirst();

    client.send(new Message.UpdateJobs(List.of(job), null, new JobUpdate(null, null, 5400L, 2)));
    assertThat(((Message.JobsUpdated) client.receive()).updated()).containsExactly(job);
    client.send(new Message.ShowJob(job));
    JobSpec shown = ((Message.JobDetails) client.receive()).job().spec();
    assertThat(shown.timeLimitSeconds()).isEqualTo(5400L);
    assertThat(shown.retriesAllowed()).isEqualTo(2);

    RawPeer worker = fixture.authenticated("worker");
    worker.send(
        new Message.Register(
            "w", ServerFixture.system("w"), ServerFixture.capacity(), List.of(), List.of(), null));
    assertThat(worker.receive()).isInstanceOf(Message.Registered.class);
    worker = ServerFixture.keepAlive(worker, "w");
    Message.Offer offer = worker.receiveNext(Message.Offer.class);
    assertThat(offer.jobId()).isEqualTo(job);
    assertThat(offer.spec().timeLimitSeconds()).isEqualTo(5400L);
    assertThat(offer.spec().retriesAllowed()).isEqualTo(2);
    worker.close();
  }
}
