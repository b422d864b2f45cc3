package kueue.client.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pairs of named pipes between relays and the daemon, with real pipes and threads. */
class PipePoolTest {
  private static final int SIZE = 3;

  @TempDir Path temporary;
  private final LinkedBlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();
  private PipePool pool;

  private record Accepted(InputStream fromRelay, OutputStream toRelay) {}

  @AfterEach
  void stop() {
    if (pool != null) {
      pool.stop();
    }
  }

  private File start() throws IOException {
    File directory = temporary.resolve("pipes").toFile();
    pool = PipePool.start(directory, SIZE, (in, out) -> accepted.add(new Accepted(in, out)));
    return directory;
  }

  @Test
  void aClaimedPairCarriesBytesBothWaysAndIsReplacedByANewOne() throws Exception {
    File directory = start();
    assertThat(new File(directory, PipeChannel.SPARE).list()).hasSize(SIZE);

    String pair = PipeChannel.claim(directory, 0);
    PipeChannel relay = PipeChannel.open(directory, pair);
    Accepted daemon = accepted.poll(30, TimeUnit.SECONDS);
    assertThat(daemon).isNotNull();

    relay.toDaemon.write("request".getBytes(StandardCharsets.UTF_8));
    relay.toDaemon.flush();
    assertThat(new String(daemon.fromRelay().readNBytes(7), StandardCharsets.UTF_8))
        .isEqualTo("request");
    daemon.toRelay().write("answer".getBytes(StandardCharsets.UTF_8));
    daemon.toRelay().close();
    assertThat(new String(relay.fromDaemon.readAllBytes(), StandardCharsets.UTF_8))
        .isEqualTo("answer");
    relay.toDaemon.close();
    assertThat(daemon.fromRelay().read()).isEqualTo(-1);

    // The pair's names are gone once both ends were open, and a new pair took its place.
    assertThat(PipeChannel.toDaemonPipe(directory, pair)).doesNotExist();
    assertThat(PipeChannel.fromDaemonPipe(directory, pair)).doesNotExist();
    await().atMost(Duration.ofSeconds(30)).until(() -> spare(directory).size() == SIZE);
    assertThat(spare(directory)).doesNotContain(pair);
    daemon.fromRelay().close();
  }

  @Test
  void thePipesAreOnlyTheOwnersAndEveryTokenIsClaimedOnce() throws Exception {
    File directory = start();
    for (String token : spare(directory)) {
      Path pipe = PipeChannel.toDaemonPipe(directory, token).toPath();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pipe)))
          .isEqualTo("rw-------");
      assertThat(Files.isRegularFile(pipe)).isFalse();
      assertThat(Files.isDirectory(pipe)).isFalse();
    }

    List<CompletableFuture<String>> claims = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      long seed = i;
      claims.add(CompletableFuture.supplyAsync(() -> PipeChannel.claim(directory, seed)));
    }
    Set<String> claimed = new HashSet<>();
    int none = 0;
    for (CompletableFuture<String> claim : claims) {
      String pair = claim.get(30, TimeUnit.SECONDS);
      if (pair == null) {
        none++;
      } else {
        assertThat(claimed.add(pair)).as("claimed twice: " + pair).isTrue();
      }
    }
    // No relay opened its pair, so none was replaced: exactly SIZE claims can succeed.
    assertThat(claimed).hasSize(SIZE);
    assertThat(none).isEqualTo(8 - SIZE);
  }

  @Test
  void aPairClaimedButNeverOpenedIsGivenUpAfterTheLimitAndReplaced() throws Exception {
    File directory = start();
    String pair = PipeChannel.claim(directory, 0);
    long now = System.nanoTime();

    pool.sweep(now);
    pool.sweep(now + PipePool.CLAIM_LIMIT.toNanos() / 2);
    assertThat(PipeChannel.toDaemonPipe(directory, pair)).exists();
    assertThat(spare(directory)).hasSize(SIZE - 1);

    pool.sweep(now + PipePool.CLAIM_LIMIT.toNanos() + 1);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !PipeChannel.toDaemonPipe(directory, pair).exists());
    await().atMost(Duration.ofSeconds(30)).until(() -> spare(directory).size() == SIZE);
    assertThat(PipeChannel.fromDaemonPipe(directory, pair)).doesNotExist();
    assertThat(pool.waitingCount()).isEqualTo(SIZE);
    // Nothing was handed to the daemon for it, and a late relay finds nothing to open.
    assertThat(accepted).isEmpty();
    assertThatThrownBy(() -> PipeChannel.open(directory, pair)).isInstanceOf(IOException.class);
  }

  @Test
  void aPairWhoseRelayOpenedOnlyItsFirstPipeIsGivenUpToo() throws Exception {
    File directory = start();
    String pair = PipeChannel.claim(directory, 0);
    // A relay killed between its two opens: the daemon's thread then waits to open the second.
    OutputStream toDaemon = new java.io.FileOutputStream(PipeChannel.toDaemonPipe(directory, pair));
    long now = System.nanoTime();
    pool.sweep(now);
    pool.sweep(now + PipePool.CLAIM_LIMIT.toNanos() + 1);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> !PipeChannel.fromDaemonPipe(directory, pair).exists());
    await().atMost(Duration.ofSeconds(30)).until(() -> spare(directory).size() == SIZE);
    assertThat(accepted).isEmpty();
    toDaemon.close();
  }

  @Test
  void stoppingEndsTheWaitingThreadsAndRemovesTheDirectory() throws Exception {
    File directory = start();
    assertThat(pool.waitingCount()).isEqualTo(SIZE);

    pool.stop();

    await().atMost(Duration.ofSeconds(30)).until(() -> pool.waitingCount() == 0);
    assertThat(directory).doesNotExist();
    assertThat(PipeChannel.claim(directory, 0)).isNull();
    assertThat(accepted).isEmpty();
  }

  @Test
  void startingRemovesWhatAKilledDaemonLeft() throws Exception {
    File directory = temporary.resolve("pipes").toFile();
    File stale = new File(directory, PipeChannel.SPARE);
    assertThat(stale.mkdirs()).isTrue();
    assertThat(new File(stale, "17").createNewFile()).isTrue();
    assertThat(new File(directory, "17.in").createNewFile()).isTrue();

    start();

    assertThat(spare(directory)).hasSize(SIZE).doesNotContain("17");
    assertThat(new File(directory, "17.in")).doesNotExist();
  }

  private static List<String> spare(File directory) {
    String[] tokens = new File(directory, PipeChannel.SPARE).list();
    return tokens == null ? List.of() : List.of(tokens);
  }
}
