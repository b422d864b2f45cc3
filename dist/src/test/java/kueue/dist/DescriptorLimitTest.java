package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;

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
 * A server with few file descriptors sizes its connection cap to them: a flood of idle connections
 * neither runs it out of descriptors nor keeps a command out, and is logged in a few lines. (What
 * it does when descriptors run out all the same is {@code AcceptFailuresTest}'s.)
 */
class DescriptorLimitTest {
  /** Enough for the JVM, its jars, the database and a few connections; idle sockets exceed it. */
  private static final int DESCRIPTORS = 256;

  @TempDir Path home;

  @Test
  void aFloodOfIdleConnectionsAgainstFewDescriptorsLeavesRoomForCommands() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.runFromJars();
      fleet.startServer(
          List.of("prlimit", "--nofile=" + DESCRIPTORS + ":" + DESCRIPTORS, "--"), Map.of());
      assertThat(fleet.kueue("list-jobs").exitCode()).isZero();

      List<Socket> idle = new ArrayList<>();
      long floodStarted = System.nanoTime();
      try {
        // Twice the limit, opened again and again as the server closes them to make room.
        for (int round = 0; round < 3; round++) {
          for (int i = 0; i < 2 * DESCRIPTORS; i++) {
            idle.add(new Socket(InetAddress.getLoopbackAddress(), fleet.port));
          }
          long started = System.nanoTime();
          assertThat(fleet.kueue("list-jobs").exitCode()).isZero();
          assertThat(Duration.ofNanos(System.nanoTime() - started))
              .as("a command during the flood")
              .isLessThan(Duration.ofSeconds(10));
        }
        assertThat(fleet.log("server")).doesNotContain("Too many open files");
        // At most 20 lines per 10 s window plus one summary each, however loaded the machine is;
        // line by line it would be one per displaced connection, over a thousand.
        long windows = Duration.ofNanos(System.nanoTime() - floodStarted).toSeconds() / 10 + 2;
        assertThat(lines(fleet, "to make room"))
            .as("the flood is counted, not logged line by line")
            .isLessThanOrEqualTo(21 * windows)
            .isLessThan(DESCRIPTORS);
      } finally {
        for (Socket socket : idle) {
          socket.close();
        }
      }
    }
  }

  private static long lines(Fleet fleet, String word) throws IOException {
    Path log = fleet.home.resolve("server.log");
    return Files.readAllLines(log).stream().filter(line -> line.contains(word)).count();
  }
}
