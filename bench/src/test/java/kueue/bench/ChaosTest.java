package kueue.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short version of {@code bench/chaos}, so that CI covers it: 100 jobs through a server and two
 * workers while the server and a worker are SIGKILLed once each.
 */
class ChaosTest {
  @TempDir Path home;

  @Test
  void jobsWithDependenciesRetriesAndTimeLimitsSurviveAServerAndAWorkerKilledWithSigkill()
      throws Exception {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    Chaos.Options options =
        new Chaos.Options(100, 2, 1, 1, 42, Duration.ofMinutes(3), home.resolve("chaos"), false);

    Chaos.Report report = Chaos.run(options, new PrintStream(text, true, StandardCharsets.UTF_8));

    String output = text.toString(StandardCharsets.UTF_8);
    System.out.println(output);
    assertThat(report.violations()).as(output).isEmpty();
    assertThat(output)
        .contains(
            "100 of 100 acknowledged jobs listed, 100 finished as expected (exit code 0, or timed"
                + " out), 0 missing")
        .contains("0 overlapping runs")
        .containsPattern(
            "kinds of jobs: \\{PLAIN=\\d+, DEPENDENT=[1-9]\\d*, FLAKY=[1-9]\\d*, TIMED=[1-9]")
        .containsPattern("(\\d+) of \\1 dependents started after their parent's end")
        .contains("result: OK");
  }
}
