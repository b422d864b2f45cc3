package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import kueue.model.JobSpec;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SubmitTest {

  @Test
  void jobIdsStartAtTheGivenNextIdAndGrowByOne() {
    Scheduler scheduler = new Scheduler(SchedulerHarness.settings().build(), 41);
    Decisions out = new Decisions();

    scheduler.handle(
        new Command.Submit(7, List.of(aJob().build(), aJob().build())), Instant.EPOCH, out);

    assertThat(out.effects()).containsExactly(new Effect.SubmitAccepted(7, List.of(41L, 42L)));
    assertThat(scheduler.nextJobId()).isEqualTo(43);
  }

  @Test
  void acceptedJobsAreQueuedWithTheirFullSpecAndSubmitTime() {
    SchedulerHarness harness = SchedulerHarness.create();
    JobSpec spec = aJob().argv("python", "train.py", "--epochs", "3").cpus(2).ramMb(512).build();

    Decisions decisions = harness.submitSpecs(List.of(spec));

    assertThat(decisions.events())
        .containsExactly(new Event.JobQueued(1, spec, SchedulerHarness.START));
    assertThat(harness.view(1))
        .isEqualTo(new ActiveJobView(1, JobState.PENDING, 0, -1, "no worker connected"));
  }

  @Test
  void idsAreNeverReusedAfterJobsEnd() {
    SchedulerHarness harness = SchedulerHarness.create();
    long worker = harness.connect(WorkerBuilder.aWorker());
    long first = harness.submitOne(aJob());
    harness.startCurrent(first);
    harness.endCurrent(first);
    long canceled = harness.submitOne(aJob().cpus(64));
    harness.cancel(canceled, false);

    long next = harness.submitOne(aJob());

    assertThat(worker).isEqualTo(1);
    assertThat(List.of(first, canceled, next)).containsExactly(1L, 2L, 3L);
  }

  @Test
  void restoringJobsMovesTheNextIdPastTheRestoredOnes() {
    Scheduler scheduler = new Scheduler(SchedulerHarness.settings().build(), 5);

    scheduler.restore(
        List.of(
            new RestoredJob(
                9, JobState.PENDING, new Resources(1, 1, 1), Map.of(), 0, Instant.EPOCH)),
        Instant.EPOCH);

    assertThat(scheduler.nextJobId()).isEqualTo(10);
  }

  static Stream<Arguments> invalidJobs() {
    return Stream.of(
        Arguments.of(
            aJob().resource("foo", 1), "unknown global resource 'foo' (configured: genus, matlab)"),
        Arguments.of(
            aJob().resource("genus", 4), "global resource 'genus' asks for 4 but only 3 exist"),
        Arguments.of(
            aJob().resource("genus", 0),
            "global resource 'genus' must be asked for at least once (got 0)"),
        Arguments.of(aJob().slots(0), "job slots must be at least 1 (got 0)"),
        Arguments.of(aJob().slots(11), "asks for 11 job slots but global_max_parallel_jobs is 10"),
        Arguments.of(aJob().cpus(-1), "CPUs cannot be negative (got -1)"),
        Arguments.of(aJob().ramMb(-5), "RAM cannot be negative (got -5 MB)"),
        Arguments.of(aJob().timeLimitSeconds(0), "time limit must be at least 1 second (got 0)"),
        Arguments.of(aJob().retries(-1), "retries cannot be negative (got -1)"),
        Arguments.of(
            aJob().retries(1).retryDelaySeconds(-3), "retry delay cannot be negative (got -3)"),
        Arguments.of(aJob().argv(), "no program to run"),
        Arguments.of(aJob().argv(""), "no program to run"),
        Arguments.of(aJob().cwd(""), "working directory is missing"),
        Arguments.of(
            aJob().cwd("work/dir"), "working directory 'work/dir' is not an absolute path"));
  }

  @ParameterizedTest
  @MethodSource("invalidJobs")
  void anInvalidJobIsRejectedWithAClearReasonAndNothingIsQueued(JobBuilder job, String reason) {
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .maxParallelJobs(10)
            .resource("genus", 3)
            .resource("matlab", 2)
            .harness();

    Decisions decisions = harness.submitSpecs(List.of(job.build()));

    assertThat(decisions.effects()).containsExactly(new Effect.RequestRejected(1, reason));
    assertThat(decisions.events()).isEmpty();
    assertThat(harness.scheduler.nextJobId()).isEqualTo(1);
  }

  @Test
  void oneInvalidJobRejectsTheWholeSubmissionAndNamesWhichJobItWas() {
    SchedulerHarness harness = SchedulerHarness.settings().resource("genus", 3).harness();

    Decisions decisions =
        harness.submitSpecs(
            List.of(aJob().build(), aJob().resource("foo", 1).build(), aJob().build()));

    assertThat(decisions.effects())
        .containsExactly(
            new Effect.RequestRejected(
                1, "job 2 of 3: unknown global resource 'foo' (configured: genus)"));
    assertThat(decisions.events()).isEmpty();
    assertThat(harness.scheduler.activeJobCount()).isZero();
  }

  @Test
  void aResourceIsUnknownWhenNoneAreConfigured() {
    SchedulerHarness harness = SchedulerHarness.create();

    Decisions decisions = harness.submitSpecs(List.of(aJob().resource("genus", 1).build()));

    assertThat(decisions.effects())
        .containsExactly(
            new Effect.RequestRejected(1, "unknown global resource 'genus' (configured: none)"));
  }

  @Test
  void anEmptySubmissionIsRejected() {
    SchedulerHarness harness = SchedulerHarness.create();

    Decisions decisions = harness.submitSpecs(List.of());

    assertThat(decisions.effects())
        .containsExactly(new Effect.RequestRejected(1, "no jobs to submit"));
  }

  @Test
  void aJobAskingForNoCpusAndNoRamIsAccepted() {
    SchedulerHarness harness = SchedulerHarness.create();

    List<Long> ids = harness.submit(aJob().cpus(0).ramMb(0));

    assertThat(ids).containsExactly(1L);
  }
}
