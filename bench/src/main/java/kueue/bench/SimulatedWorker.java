package kueue.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import kueue.config.KueueConfig;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.TransportSecurity;

/**
 * A worker that speaks the real protocol but runs nothing: every offer is started and ended at once
 * ("zero worker"), so what remains is the server's own cost per job.
 */
final class SimulatedWorker implements AutoCloseable {
  private final PeerConnection connection;
  private final Thread reader;
  private volatile boolean closed;

  SimulatedWorker(KueueConfig.Common common, String name, int slots) throws Exception {
    connection =
        PeerConnection.open(
            common.serverName(),
            common.serverPort(),
            common.sharedSecret(),
            "worker",
            "kueue-bench",
            Duration.ofSeconds(30),
            TransportSecurity.forClient(common.encrypted(), common.serverKeyFile()));
    SystemInfo system =
        new SystemInfo(name, "bench", "bench", 1000, 0, 1_000_000, 1_000_000, 0, 0, 0, 0);
    WorkerCapacity capacity =
        new WorkerCapacity(new Resources(slots, 100_000, 100_000_000), 0, 100_000_000);
    connection.send(new Message.Register(name, system, capacity, List.of(), List.of(), 32));
    reader = Thread.ofVirtual().start(this::answerOffers);
    // A worker that stays silent is presumed lost: report like a real one does.
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                while (!closed) {
                  Thread.sleep(2000);
                  connection.send(new Message.Heartbeat(system, capacity));
                }
              } catch (Exception e) {
                // the connection is closed; the reader reports it
              }
            });
  }

  private void answerOffers() {
    try {
      while (!closed) {
        if (connection.receive() instanceof Message.Offer offer) {
          Instant now = Instant.now();
          connection.send(new Message.Started(offer.jobId(), offer.attempt(), now));
          connection.send(
              new Message.Ended(
                  offer.jobId(),
                  offer.attempt(),
                  new JobOutcome(0, null, null, now, now),
                  CapturedOutput.EMPTY,
                  CapturedOutput.EMPTY));
        }
      }
    } catch (Exception e) {
      if (!closed) {
        System.err.println("simulated worker stopped: " + e);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    connection.close();
  }
}
