package kueue.store;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import kueue.model.JobDetail;
import kueue.model.JobState;
import kueue.model.JobSummary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A SIGKILLed writer loses no batch it reported as committed, and leaves a sound database. */
class CrashSafetyTest {

  private static final int BATCHES_BEFORE_KILL = 40;

  @TempDir Path dataDirectory;

  @Test
  void everyBatchReportedCommittedSurvivesKillingTheWriterProcess() throws Exception {
    Path javaBinary = Path.of(System.getProperty("java.home"), "bin", "java");
    Path childErrors = dataDirectory.resolve("child-stderr.txt");
    Path data = dataDirectory.resolve("data");
    Process child =
        new ProcessBuilder(
                javaBinary.toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                PersistingChild.class.getName(),
                data.toString())
            .redirectError(childErrors.toFile())
            .start();
    Queue<String> committed = new ConcurrentLinkedQueue<>();
    Thread lineReader = Thread.ofVirtual().start(() -> readLines(child, committed));
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .failFast(
              "the child stopped: " + childErrors, () -> !child.isAlive() && committed.isEmpty())
          .until(() -> committed.size() >= BATCHES_BEFORE_KILL);
    } finally {
      child.destroyForcibly();
      assertThat(child.waitFor(30, SECONDS)).isTrue();
    }
    lineReader.join(Duration.ofSeconds(30));
    assertThat(child.exitValue())
        .as("killed, not exited: " + Files.readString(childErrors))
        .isEqualTo(137);

    List<long[]> batches = new ArrayList<>();
    for (String line : committed) {
      String[] words = line.split(" ");
      batches.add(new long[] {Long.parseLong(words[1]), Long.parseLong(words[2])});
    }
    long lastReported = batches.getLast()[1];

    try (SqliteJobStore store = SqliteJobStore.open(data)) {
      assertThat(store.nextJobId()).isGreaterThan(lastReported);
      for (int b = 0; b < batches.size(); b++) {
        long first = batches.get(b)[0];
        long last = batches.get(b)[1];
        List<Long> ids = new ArrayList<>();
        for (long id = first; id <= last; id++) {
          ids.add(id);
        }
        List<JobSummary> stored = store.summaries(ids);
        assertThat(stored).extracting(JobSummary::id).containsExactlyElementsOf(ids);
        if (b < batches.size() - 1) {
          assertThat(stored).allMatch(JobSummary::succeeded, "ran in the next committed batch");
          JobDetail detail = store.detail(first).orElseThrow();
          assertThat(detail.stdout().text()).isEqualTo(PersistingChild.outputOf(first));
        } else {
          assertThat(stored).allMatch(job -> job.state() != JobState.CANCELED);
        }
      }
    }
    assertThat(integrityCheck(data.resolve("kueue.db"))).isEqualTo("ok");
  }

  private static void readLines(Process child, Queue<String> lines) {
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        if (line.startsWith("committed ")) {
          lines.add(line);
        }
      }
    } catch (IOException e) {
      // The pipe closes when the child is killed; what was read is what counts.
    }
  }

  private static String integrityCheck(Path databaseFile) throws Exception {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + databaseFile);
        Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery("PRAGMA integrity_check")) {
      row.next();
      return row.getString(1);
    }
  }
}
