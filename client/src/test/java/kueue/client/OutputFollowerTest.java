package kueue.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.List;
import kueue.model.JobEvent;
import kueue.model.JobState;
import kueue.model.JobSummary;
import kueue.model.JobSummaryBuilder;
import kueue.model.OutputPart;
import kueue.model.OutputPiece;
import org.junit.jupiter.api.Test;

/** How followed output is printed: layouts, prefixes, skips and attempts. */
class OutputFollowerTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private OutputFollower follower(OutputFollower.Layout layout, boolean prefixed) {
    return new OutputFollower(
        new PrintWriter(out), new PrintWriter(err), layout, true, true, prefixed);
  }

  private static JobSummary job(long id, JobState state, int attempt) {
    return JobSummaryBuilder.builder()
        .id(id)
        .state(state)
        .command("job")
        .cwd("/tmp")
        .attempt(attempt)
        .build();
  }

  private static OutputPart part(
      long id, int attempt, JobState state, boolean complete, OutputPiece... pieces) {
    long stdout = 0;
    long stderr = 0;
    for (OutputPiece piece : pieces) {
      long end = piece.offset() + piece.text().length();
      if (piece.stream().equals("stdout")) {
        stdout = end;
      } else {
        stderr = end;
      }
    }
    return new OutputPart(
        id, attempt, job(id, state, attempt), List.of(pieces), stdout, stderr, complete);
  }

  /** What reached stdout: a PrintWriter over a StringWriter keeps nothing back. */
  private String flushed(OutputFollower follower) {
    return out.toString();
  }

  @Test
  void onATerminalEachStreamGoesWhereTheJobWroteItUnchanged() {
    OutputFollower follower = follower(OutputFollower.Layout.SPLIT, false);
    follower.add(1, null, null);

    follower.print(
        part(
            1,
            1,
            JobState.RUNNING,
            false,
            new OutputPiece("stdout", 0, "half a li"),
            new OutputPiece("stderr", 0, "warning\n")));

    assertThat(flushed(follower)).isEqualTo("half a li");
    assertThat(err.toString()).isEqualTo("warning\n");
  }

  @Test
  void intoAFileStderrLinesAreMarkedAndLinesAreNeverMixed() {
    OutputFollower follower = follower(OutputFollower.Layout.MARKED, false);
    follower.add(1, null, null);

    follower.print(
        part(
            1,
            1,
            JobState.RUNNING,
            false,
            new OutputPiece("stdout", 0, "progress: "),
            new OutputPiece("stderr", 0, "warning\n")));
    follower.print(
        part(
            1,
            1,
            JobState.FINISHED,
            true,
            new OutputPiece("stdout", 10, "50%\nlast without newline")));

    assertThat(out.toString()).isEqualTo("[stderr] warning\nprogress: 50%\nlast without newline\n");
  }

  @Test
  void aBatchsLinesCarryTheirIndex() {
    OutputFollower follower = follower(OutputFollower.Layout.SPLIT, true);
    follower.add(10, null, "[1] ");
    follower.add(11, null, "[2] ");

    follower.print(part(10, 1, JobState.RUNNING, false, new OutputPiece("stdout", 0, "a\nb")));
    follower.print(part(11, 1, JobState.RUNNING, false, new OutputPiece("stdout", 0, "c\n")));
    follower.print(part(10, 1, JobState.FINISHED, true, new OutputPiece("stdout", 3, "\n")));

    assertThat(out.toString()).isEqualTo("[1] a\n[2] c\n[1] b\n");
  }

  @Test
  void bytesNoLongerKeptAreReportedAsSkipped() {
    OutputFollower follower = follower(OutputFollower.Layout.SPLIT, false);
    follower.add(1, null, null);

    follower.print(part(1, 1, JobState.RUNNING, false, new OutputPiece("stdout", 0, "a\n")));
    follower.print(part(1, 1, JobState.RUNNING, false, new OutputPiece("stdout", 1000, "z\n")));

    assertThat(flushed(follower)).isEqualTo("a\nz\n");
    assertThat(err.toString()).contains("998 bytes of stdout skipped");
  }

  @Test
  void aNewAttemptStartsASectionAndTheFollowerGoesOnWithIt() {
    OutputFollower follower = follower(OutputFollower.Layout.MARKED, false);
    follower.add(1, null, null);

    follower.print(part(1, 1, JobState.RUNNING, false, new OutputPiece("stdout", 0, "one\n")));
    // The worker was lost: the job waits for its next attempt.
    follower.print(part(1, 1, JobState.PENDING, true));
    follower.print(part(1, 2, JobState.RUNNING, false, new OutputPiece("stdout", 0, "two\n")));

    assertThat(out.toString()).isEqualTo("one\n[kueue: attempt 2]\ntwo\n");
    assertThat(follower.lastSeen().getFirst().attempt()).isEqualTo(2);
  }

  @Test
  void aNextAttemptThatHasNotPrintedYetHasNoHeader() {
    OutputFollower follower = follower(OutputFollower.Layout.MARKED, false);
    follower.add(1, null, null);

    follower.print(part(1, 1, JobState.PENDING, true, new OutputPiece("stdout", 0, "once\n")));
    // Waiting for its retry: the next attempt has no output yet.
    follower.print(part(1, 2, JobState.PENDING, false));
    assertThat(out.toString()).isEqualTo("once\n");

    // It ran and printed nothing: its section is there all the same.
    follower.print(part(1, 2, JobState.FINISHED, true));
    assertThat(out.toString()).isEqualTo("once\n[kueue: attempt 2 finished]\n");
  }

  @Test
  void anEarlierAttemptsSectionSaysWhereAndHowItEnded() {
    OutputFollower follower = follower(OutputFollower.Layout.MARKED, false);
    follower.knowHistory(
        List.of(
            new JobEvent(Instant.EPOCH, 1, "ended", "vm1", "exit 1; retry 1 of 2 follows"),
            new JobEvent(Instant.EPOCH, 2, "started", "vm2", null)));
    follower.add(1, 1, null);

    OutputPart first = part(1, 1, JobState.FINISHED, true, new OutputPiece("stdout", 0, "a\n"));
    follower.print(
        new OutputPart(
            1, 1, job(1, JobState.RUNNING, 2).withWorker("vm2"), first.pieces(), 2, 0, true));
    follower.print(
        new OutputPart(
            1,
            2,
            job(1, JobState.FINISHED, 2).withWorker("vm2").withExitCode(0),
            List.of(new OutputPiece("stdout", 0, "b\n")),
            2,
            0,
            true));

    assertThat(out.toString())
        .isEqualTo("[kueue: attempt 1 on vm1, exit 1]\na\n[kueue: attempt 2 on vm2, exit 0]\nb\n");
  }
}
