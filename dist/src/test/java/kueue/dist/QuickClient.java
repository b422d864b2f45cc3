package kueue.dist;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.PeerConnection;
import kueue.protocol.TransportSecurity;

/**
 * Asks the fleet's server over the protocol from the test's own JVM: for polling, where starting a
 * {@code kueue} process for every look would cost more CPU than the scenario under test. The
 * answers have the same JSON form as {@code kueue ... --json}.
 */
final class QuickClient {
  private final int port;
  private final java.nio.file.Path pin;

  QuickClient(Fleet fleet) {
    this.port = fleet.port;
    this.pin = fleet.home.resolve("server-key.pub");
  }

  private <T extends Message> T ask(Message.Request request, Class<T> type) throws Exception {
    try (PeerConnection connection =
        PeerConnection.open(
            "127.0.0.1",
            port,
            Fleet.SECRET,
            "client",
            "test",
            Duration.ofSeconds(10),
            TransportSecurity.client(pin))) {
      connection.send(request);
      return type.cast(connection.receive());
    }
  }

  /** What {@code kueue show-job ID --json} prints. */
  JsonNode job(long id) throws Exception {
    return MessageCodec.mapper()
        .valueToTree(ask(new Message.ShowJob(id), Message.JobDetails.class).job());
  }

  /** Names of the connected workers. */
  List<String> workers() throws Exception {
    List<String> names = new ArrayList<>();
    ask(new Message.ListWorkers(), Message.WorkerList.class)
        .workers()
        .forEach(worker -> names.add(worker.name()));
    return names;
  }
}
