package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that runs out of file descriptors keeps the connections it has, does not spin or flood
 * its log while the descriptors are gone, and serves again once they are back.
 */
class DescriptorLimitTest {
  /** Enough for the JVM, its jars, the database and a few connections; idle sockets exceed it. */
  private static final int DESCRIPTORS = 256;

  @TempDir Path home;

  @Test
  void aServerOutOfDescriptorsPausesAcceptsLogsLittleAndRecovers() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.runFromJars();
      fleet.startServer(
          List.of("prlimit", "--nofile=" + DESCRIPTORS + ":" + DESCRIPTORS, "--"), Map.of());
      assertThat(fleet.kueue("list-jobs").exitCode()).isZero();

      List<Socket> idle = new ArrayList<>();
      try {
        // Twice the limit: the server accepts until its descriptors run out; the rest wait in
        // the kernel's backlog, where every accept finds them and fails.
        for (int i = 0; i < 2 * DESCRIPTORS; i++) {
          idle.add(new Socket(InetAddress.getLoopbackAddress(), fleet.port));
        }
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> fleet.log("server").contains("accept failed: Too many open files"));
        // Two seconds of failing accepts: without the pause, that was tens of thousands of lines.
        await()
            .during(Duration.ofSeconds(2))
            .atMost(Duration.ofSeconds(5))
            .until(() -> lines(fleet, "accept") <= 4);
      } finally {
        for (Socket socket : idle) {
          socket.close();
        }
      }
      // The server closes the idle connections as they end; then a command gets through.
      await().atMost(Duration.ofSeconds(60)).until(() -> fleet.kueue("list-jobs").exitCode() == 0);
      assertThat(fleet.log("server")).contains("accepting connections again after");
      // Each run of failures logs its first and its end; connections closing as the idle ones
      // time out may start a few more runs, never a line per failure.
      assertThat(lines(fleet, "accept")).isLessThanOrEqualTo(10);
    }
  }

  private static long lines(Fleet fleet, String word) throws IOException {
    Path log = fleet.home.resolve("server.log");
    return Files.readAllLines(log).stream().filter(line -> line.contains(word)).count();
  }
}
