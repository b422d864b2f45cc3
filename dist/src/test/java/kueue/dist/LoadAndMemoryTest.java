package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import kueue.protocol.Handshakes;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.TransportSecurity;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What must not slow the server down or grow its memory (or the worker's), on real processes. */
class LoadAndMemoryTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path home;

  /** An authenticated client connection that then says nothing (or, with trickle, very little). */
  private static Socket authenticatedClient(Fleet fleet) throws Exception {
    int port = fleet.port;
    Socket socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(30_000);
    TransportSecurity.Channel channel =
        TransportSecurity.client(fleet.home.resolve("server-key.pub"))
            .connect(socket, "127.0.0.1", port);
    kueue.protocol.FrameReader reader = new kueue.protocol.FrameReader(channel.input());
    String nonce = Handshakes.newNonce();
    channel
        .output()
        .write(
            MessageCodec.encode(
                new Message.Hello(Message.PROTOCOL_VERSION, "client", nonce, "idle")));
    channel.output().flush();
    Message.Challenge challenge = (Message.Challenge) MessageCodec.decode(reader.next());
    channel
        .output()
        .write(
            MessageCodec.encode(
                new Message.Authenticate(
                    Handshakes.peerProof(
                        Fleet.SECRET, "client", nonce, challenge.nonce(), channel.binding()))));
    channel.output().flush();
    assertThat(MessageCodec.decode(reader.next())).isInstanceOf(Message.Welcome.class);
    return channel.socket();
  }

  @Test
  void aNormalClientIsServedWhileTwoThousandIdleConnectionsAndATrickleAreOpen() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      fleet.startWorker("alpha", "");
      List<Socket> idle = new ArrayList<>();
      try (ExecutorService opening = Executors.newFixedThreadPool(8)) {
        List<Future<Socket>> opened = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
          opened.add(opening.submit(() -> authenticatedClient(fleet)));
        }
        for (Future<Socket> socket : opened) {
          idle.add(socket.get());
        }
      }
      Socket trickle = authenticatedClient(fleet);
      OutputStream slow = trickle.getOutputStream();
      Thread trickling =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      for (byte b :
                          "{\"type\":\"list_jobs\",\"limit\":1,\"filters\":[]}".getBytes()) {
                        slow.write(b);
                        slow.flush();
                        Thread.sleep(1_000);
                      }
                    } catch (IOException | InterruptedException stopped) {
                      // the test is over or the server cut it off
                    }
                  });

      long started = System.nanoTime();
      Fleet.Result result = fleet.kueue("cmd", "--wait", "true");
      long tookMillis = (System.nanoTime() - started) / 1_000_000;

      assertThat(result.exitCode()).as(result.toString()).isZero();
      assertThat(tookMillis).as("served without waiting for the others").isLessThan(30_000);
      assertThat(idle).noneMatch(Socket::isClosed);
      assertThat(trickling.isAlive()).as("the trickle was still going").isTrue();
      trickling.interrupt();
      for (Socket socket : idle) {
        socket.close();
      }
      trickle.close();
      System.out.printf("cmd --wait true took %d ms next to 2,000 idle connections%n", tookMillis);
    }
  }

  private static long rssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  /**
   * Read from /proc rather than through ProcessHandle.Info, which on Linux leaves out the arguments
   * of a command line longer than a page, as the test class path makes it.
   */
  private static long pidOf(String mainClass, Path config) {
    return ProcessHandle.allProcesses()
        .filter(
            p -> {
              List<String> arguments = commandLine(p.pid());
              return arguments.contains(mainClass) && arguments.contains(config.toString());
            })
        .findFirst()
        .orElseThrow(() -> new AssertionError("no process " + mainClass + " with " + config))
        .pid();
  }

  private static List<String> commandLine(long pid) {
    try {
      String text =
          new String(
              Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
              java.nio.charset.StandardCharsets.UTF_8);
      return List.of(text.split("\0"));
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  @Test
  void aJobPrintingTwoHundredMegabytesGrowsNeitherTheWorkerNorTheServer() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      fleet.startWorker("alpha", "");
      long server = pidOf("kueue.server.ServerMain", home.resolve("server.toml"));
      long worker = pidOf("kueue.worker.WorkerMain", home.resolve("worker-alpha.toml"));
      // Warm up: one ordinary job through the whole path first.
      assertThat(fleet.kueue("cmd", "--wait", "echo", "warm").exitCode()).isZero();
      long serverBefore = rssKb(server);
      long workerBefore = rssKb(worker);

      long id =
          fleet.submit("sh", "-c", "head -c 200000000 /dev/zero | tr '\\0' x; echo; echo the-end");
      Fleet.Result waited = fleet.kueue("wait-job", String.valueOf(id));

      assertThat(waited.exitCode()).as(waited.toString()).isZero();
      long serverGrowthMb = (rssKb(server) - serverBefore) / 1024;
      long workerGrowthMb = (rssKb(worker) - workerBefore) / 1024;
      System.out.printf(
          "200 MB of output: server RSS %d -> %d MB, worker RSS %d -> %d MB%n",
          serverBefore / 1024, rssKb(server) / 1024, workerBefore / 1024, rssKb(worker) / 1024);
      assertThat(workerGrowthMb).as("worker RSS growth in MB").isLessThan(64);
      assertThat(serverGrowthMb).as("server RSS growth in MB").isLessThan(64);
      JsonNode job = JSON.readTree(fleet.kueue("show-job", String.valueOf(id), "--json").out());
      String text = job.at("/stdout/text").asText();
      assertThat(text).endsWith("xxx\nthe-end\n");
      assertThat(text.length()).isLessThanOrEqualTo(1_048_576);
      assertThat(job.at("/stdout/droppedBytes").asLong() + text.length())
          .isEqualTo(200_000_000L + "\nthe-end\n".length());
    }
  }

  private static JsonNode usageOfFirstWorker(Fleet fleet) throws Exception {
    return JSON.readTree(fleet.kueue("list-workers", "--json").out()).at("/workers/0/capacity");
  }

  /**
   * A job's busy loop is Kueue's use, not other people's; a busy loop outside Kueue (started here,
   * ended by its pid) is other people's. The machine is shared (each loop may get only a part of a
   * CPU), so the thresholds are low: what matters is on which side each loop lands.
   */
  @Test
  void aJobsOwnCpuIsKueuesUseAndAProgramOutsideKueueIsOtherPeoples() throws Exception {
    Process outside = null;
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      // Measured, but other programs take no CPUs away: the shared test machine may be busy.
      fleet.startWorker(
          "alpha", "dynamic_check_free_resources = true\ndynamic_cpu_load_scale_factor = 0\n");
      long busy = fleet.submit("sh", "-c", "while :; do :; done");
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                JsonNode capacity = usageOfFirstWorker(fleet);
                assertThat(capacity.at("/usage/kueueCpus").asDouble())
                    .as(capacity.toString())
                    .isGreaterThan(0.1);
              });

      System.out.printf("a job's busy loop: %s%n", usageOfFirstWorker(fleet).at("/usage"));
      // A job that needs every CPU of the worker waits, and says which resource is short where.
      int cores = usageOfFirstWorker(fleet).at("/total/cpus").asInt();
      long big = fleet.submit("-c", String.valueOf(cores), "true");
      String reason =
          JSON.readTree(fleet.kueue("show-job", String.valueOf(big), "--json").out())
              .at("/summary/note")
              .asText();
      assertThat(reason)
          .startsWith("waiting for free resources on a worker: alpha has ")
          .contains(" CPUs free (Kueue's jobs hold 1, other programs use ");
      assertThat(fleet.kueue("remove-job", String.valueOf(big)).exitCode()).isZero();
      assertThat(fleet.kueue("remove-job", "--kill", String.valueOf(busy)).exitCode()).isZero();

      outside = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
      await()
          .atMost(Duration.ofSeconds(60))
          .untilAsserted(
              () -> {
                JsonNode usage = usageOfFirstWorker(fleet).at("/usage");
                assertThat(usage.at("/kueueCpus").asDouble()).as(usage.toString()).isLessThan(0.1);
                assertThat(usage.at("/othersCpus").asDouble())
                    .as(usage.toString())
                    .isGreaterThan(0.1);
              });
      System.out.printf("a busy loop outside Kueue: %s%n", usageOfFirstWorker(fleet).at("/usage"));
      String table = fleet.kueue("list-workers").out();
      System.out.print(table);
      assertThat(table).contains("kueue", "others", "free");
    } finally {
      if (outside != null) {
        outside.destroyForcibly();
        outside.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
