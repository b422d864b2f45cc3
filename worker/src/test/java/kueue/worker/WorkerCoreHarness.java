package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.protocol.Message;

/**
 * Drives a {@link WorkerCore} the way {@link WorkerAgent} does, with a clock advanced by hand and a
 * pretend world of connections and processes, and checks the worker's promises after every step
 * against the harness's own record of what happened:
 *
 * <ul>
 *   <li>the slots in use never exceed the worker's, and are the sum of its attempts' slots;
 *   <li>an attempt is in at most one state (holding slots, unconfirmed, released);
 *   <li>two attempts of one job never have a process at once;
 *   <li>an attempt killed for lost contact is never reported (Started, Ended) or claimed in a
 *       registration again;
 *   <li>a result is kept until the server confirmed it;
 *   <li>results go only to a registered connection, and nothing to a session that is gone;
 *   <li>after the contact check without contact for half the worker timeout, every job is killed;
 *   <li>after the check, a running job past its time limit has had TERM, and KILL once the grace
 *       period after that is over too; its result says it timed out, and only its result.
 * </ul>
 */
final class WorkerCoreHarness {
  static final Duration WORKER_TIMEOUT = Duration.ofSeconds(20);
  static final Instant START = Instant.parse("2030-01-01T00:00:00Z");
  static final String NAME = "test-worker";
  static final String EXISTING_DIR = "/work/here";
  static final Duration TIME_LIMIT_GRACE = Duration.ofSeconds(10);

  final ContactLimits limits = new ContactLimits(WORKER_TIMEOUT);
  final WorkerCore core;
  final int maxSlots;

  /** Nanoseconds since the start; the core only ever sees differences. */
  long now = 1_000_000_000L;

  /** What the last step returned. */
  List<WorkerAction> last = List.of();

  /** Every message the core sent, by session, in order. */
  final Map<Long, List<Message>> sent = new HashMap<>();

  private long nextSession = 1;
  private final Set<Long> openSessions = new HashSet<>();

  // ---- the pretend world of processes

  /** StartProcess was asked for; the process is not reported started or ended yet. */
  final Set<AttemptRef> starting = new LinkedHashSet<>();

  /** Reported started and not ended. */
  final Set<AttemptRef> running = new LinkedHashSet<>();

  /** Asked to be killed (and not ended yet). */
  final Set<AttemptRef> killed = new LinkedHashSet<>();

  // ---- what the harness knows independently of the core

  /** Attempts the core gave up for lost contact: never to be reported again. */
  private final Set<AttemptRef> lost = new HashSet<>();

  /** Attempts whose result must stay with the worker until result_stored. */
  private final Set<AttemptRef> resultsToKeep = new HashSet<>();

  /** Attempts with a time limit: when the core took them, and the limit. */
  private final Map<AttemptRef, long[]> limited = new HashMap<>();

  /** Attempts that got TERM for their time limit: when. */
  final Map<AttemptRef, Long> terminated = new HashMap<>();

  /** Attempts that got KILL after their time limit's grace. */
  final Set<AttemptRef> forced = new HashSet<>();

  /** Attempts the core started a process for, ever. */
  final Set<AttemptRef> everStarted = new HashSet<>();

  /** Kinds of inputs, actions and messages seen, for the randomized test. */
  final Set<Class<?>> seen = new HashSet<>();

  WorkerCoreHarness(int maxSlots) {
    this.maxSlots = maxSlots;
    this.core =
        new WorkerCore(NAME, maxSlots, limits.killJobsAfter(), "server:1", now, TIME_LIMIT_GRACE);
  }

  static WorkerCoreHarness create() {
    return new WorkerCoreHarness(4);
  }

  // ---- steps: the connection

  /** A handshake succeeded: the core answers with the registration. */
  long connect() {
    long session = nextSession++;
    openSessions.add(session);
    step(new WorkerInput.Connected(session, system(), capacity()));
    return session;
  }

  Message.Register registrationOf(long session) {
    return sentOn(session, Message.Register.class).getLast();
  }

  List<WorkerAction> register(long session, long workerId) {
    return step(new WorkerInput.Registered(session, workerId));
  }

  /** Connects and registers; returns the session. */
  long connectAndRegister() {
    long session = connect();
    register(session, session * 10);
    return session;
  }

  List<WorkerAction> lose(long session) {
    openSessions.remove(session);
    return step(new WorkerInput.ConnectionLost(session));
  }

  List<WorkerAction> refused() {
    return step(new WorkerInput.ConnectionRefused());
  }

  // ---- steps: messages from the server

  List<WorkerAction> offer(long session, OfferBuilder offer) {
    return step(new WorkerInput.OfferReceived(session, offer.build(), offer.directoryProblem()));
  }

  List<WorkerAction> kill(long session, AttemptRef ref) {
    return step(
        new WorkerInput.KillReceived(
            session, new Message.Kill(ref.jobId(), ref.attempt(), "canceled")));
  }

  List<WorkerAction> resultStored(long session, AttemptRef ref) {
    return step(
        new WorkerInput.ResultStoredReceived(
            session, new Message.ResultStored(ref.jobId(), ref.attempt())));
  }

  List<WorkerAction> heartbeatAck(long session) {
    return step(new WorkerInput.OtherReceived(session, new Message.HeartbeatAck()));
  }

  /** The server asks for the attempt's output. */
  List<WorkerAction> outputRequested(long session, AttemptRef ref) {
    return step(
        new WorkerInput.OutputRequested(
            session,
            new Message.OutputRequest(
                nextOutputRequest++, ref.jobId(), ref.attempt(), 0L, 0L, 1000, 4096)));
  }

  private long nextOutputRequest = 1;

  List<WorkerAction> other(long session, Message message) {
    return step(new WorkerInput.OtherReceived(session, message));
  }

  // ---- steps: processes

  /** The process runs past the launcher's quick watch. */
  List<WorkerAction> processRuns(AttemptRef ref) {
    return step(new WorkerInput.ProcessStarted(ref, instant()));
  }

  List<WorkerAction> processEnds(AttemptRef ref, int exitCode) {
    Instant started = running.contains(ref) || starting.contains(ref) ? instant() : null;
    JobOutcome outcome =
        killed.contains(ref)
            ? new JobOutcome(null, 15, null, started, instant())
            : new JobOutcome(exitCode, null, null, started, instant());
    return step(
        new WorkerInput.ProcessEnded(
            ref,
            new JobResult(
                outcome, new CapturedOutput("out " + ref + "\n", 0), CapturedOutput.EMPTY)));
  }

  /** The process could not start (e.g. command not found). */
  List<WorkerAction> processFailsToStart(AttemptRef ref) {
    JobOutcome outcome = new JobOutcome(null, null, "command not found: x", null, instant());
    return step(
        new WorkerInput.ProcessEnded(
            ref, new JobResult(outcome, CapturedOutput.EMPTY, CapturedOutput.EMPTY)));
  }

  List<WorkerAction> processEndsWith(AttemptRef ref, JobResult result) {
    return step(new WorkerInput.ProcessEnded(ref, result));
  }

  // ---- steps: time and stop

  void advance(Duration duration) {
    now += duration.toNanos();
  }

  List<WorkerAction> tick() {
    return step(new WorkerInput.Tick());
  }

  List<WorkerAction> stop() {
    return step(new WorkerInput.StopRequested());
  }

  List<WorkerAction> stopWaitOver() {
    return step(new WorkerInput.StopWaitOver());
  }

  /** One input, then every promise checked. */
  List<WorkerAction> step(WorkerInput input) {
    seen.add(input.getClass());
    Set<AttemptRef> unconfirmedBefore = Set.copyOf(core.unconfirmed().keySet());
    List<WorkerAction> actions = core.handle(input, now);
    last = actions;
    learn(input, actions, unconfirmedBefore);
    checkState();
    if (input instanceof WorkerInput.Tick) {
      checkContactRule();
      checkTimeLimits();
    }
    return actions;
  }

  // ---- queries

  <T extends Message> List<T> sentOn(long session, Class<T> type) {
    return sent.getOrDefault(session, List.of()).stream()
        .filter(type::isInstance)
        .map(type::cast)
        .toList();
  }

  /** The messages the last step sent, over all sessions. */
  List<Message> lastSent() {
    List<Message> messages = new ArrayList<>();
    for (WorkerAction action : last) {
      if (action instanceof WorkerAction.Send send) {
        messages.addAll(send.messages());
      }
    }
    return messages;
  }

  <T extends WorkerAction> List<T> lastActions(Class<T> type) {
    return last.stream().filter(type::isInstance).map(type::cast).toList();
  }

  Set<AttemptRef> lastKills() {
    Set<AttemptRef> kills = new HashSet<>();
    lastActions(WorkerAction.KillProcess.class).forEach(kill -> kills.add(kill.ref()));
    return kills;
  }

  Instant instant() {
    return START.plusNanos(now);
  }

  // ---- what the harness learns from each step

  private void learn(
      WorkerInput input, List<WorkerAction> actions, Set<AttemptRef> unconfirmedBefore) {
    switch (input) {
      case WorkerInput.ProcessStarted started -> {
        assertThat(starting.remove(started.ref()))
            .as("%s was starting when its process was reported running", started.ref())
            .isTrue();
        running.add(started.ref());
      }
      case WorkerInput.ProcessEnded ended -> {
        assertThat(starting.remove(ended.ref()) | running.remove(ended.ref()))
            .as("%s had a process when it ended", ended.ref())
            .isTrue();
        killed.remove(ended.ref());
        if (!lost.contains(ended.ref()) && !core.released().contains(ended.ref())) {
          resultsToKeep.add(ended.ref());
        }
      }
      case WorkerInput.ResultStoredReceived stored ->
          resultsToKeep.remove(new AttemptRef(stored.stored().jobId(), stored.stored().attempt()));
      default -> {}
    }
    for (WorkerAction action : actions) {
      seen.add(action.getClass());
      switch (action) {
        case WorkerAction.StartProcess start -> {
          AttemptRef ref = start.ref();
          assertThat(core.stopping()).as("no process starts while stopping").isFalse();
          for (AttemptRef other : processes()) {
            assertThat(other.jobId() == ref.jobId())
                .as("%s starts while %s of the same job still has a process", ref, other)
                .isFalse();
          }
          assertThat(everStarted.add(ref)).as("%s started twice", ref).isTrue();
          starting.add(ref);
          Long limit = start.spec().timeLimitSeconds();
          if (limit != null) {
            limited.put(ref, new long[] {now, limit * 1_000_000_000L});
          }
        }
        case WorkerAction.KillProcess kill -> {
          assertThat(core.attempts())
              .as("a kill of an attempt the worker holds")
              .containsKey(kill.ref());
          killed.add(kill.ref());
        }
        case WorkerAction.Send send -> {
          assertThat(openSessions)
              .as("%s sent on a session that is open", send.messages())
              .contains(send.session());
          for (Message message : send.messages()) {
            seen.add(message.getClass());
            checkSent(send.session(), message, unconfirmedBefore);
            sent.computeIfAbsent(send.session(), s -> new ArrayList<>()).add(message);
          }
        }
        case WorkerAction.SignalProcess signal -> {
          AttemptRef ref = signal.ref();
          assertThat(core.attempts())
              .as("a signal to an attempt the worker holds")
              .containsKey(ref);
          assertThat(limited).as("%s signalled without a time limit", ref).containsKey(ref);
          assertThat(now - limited.get(ref)[0])
              .as("%s signalled before its time limit", ref)
              .isGreaterThanOrEqualTo(limited.get(ref)[1]);
          if (signal.force()) {
            assertThat(terminated).as("%s got KILL before TERM", ref).containsKey(ref);
            assertThat(now - terminated.get(ref))
                .as("%s got KILL within the grace period", ref)
                .isGreaterThanOrEqualTo(TIME_LIMIT_GRACE.toNanos());
            assertThat(forced.add(ref)).as("%s got KILL twice", ref).isTrue();
          } else {
            assertThat(terminated.put(ref, now)).as("%s got TERM twice", ref).isNull();
          }
          killed.add(ref);
        }
        case WorkerAction.AnswerOutput answer -> {
          AttemptRef ref = new AttemptRef(answer.request().jobId(), answer.request().attempt());
          assertThat(running)
              .as("output is read only of an attempt whose process runs here")
              .contains(ref);
          assertThat(lost).as("%s was given up for lost contact", ref).doesNotContain(ref);
          assertThat(openSessions).contains(answer.session());
        }
        case WorkerAction.CloseConnection close ->
            // Open until the shell reports it lost, as the reader finds out.
            assertThat(openSessions).contains(close.session());
        case WorkerAction.Log line -> assertThat(line.text()).isNotBlank();
      }
    }
    lost.addAll(core.lostAttempts());
  }

  private void checkSent(long session, Message message, Set<AttemptRef> unconfirmedBefore) {
    switch (message) {
      case Message.Ended ended -> {
        AttemptRef ref = new AttemptRef(ended.jobId(), ended.attempt());
        assertThat(lost)
            .as("%s was given up for lost contact and is never reported", ref)
            .doesNotContain(ref);
        assertThat(session)
            .as("results go to the registered connection")
            .isEqualTo(core.registeredSession());
        assertThat(core.unconfirmed())
            .as("a reported result is kept until confirmed")
            .containsKey(ref);
        assertThat(ended.outcome().timedOut())
            .as("%s is reported as timed out exactly when it was stopped at its limit", ref)
            .isEqualTo(terminated.containsKey(ref));
      }
      case Message.Started started -> {
        AttemptRef ref = new AttemptRef(started.jobId(), started.attempt());
        assertThat(lost)
            .as("%s was given up for lost contact and is never reported", ref)
            .doesNotContain(ref);
        assertThat(started.at()).isNotNull();
      }
      case Message.Register register -> {
        for (AttemptRef ref : register.running()) {
          assertThat(lost)
              .as("%s was given up for lost contact and is not claimed", ref)
              .doesNotContain(ref);
        }
        for (Message.Ended ended : register.ended()) {
          AttemptRef ref = new AttemptRef(ended.jobId(), ended.attempt());
          assertThat(lost)
              .as("%s was given up for lost contact and is not claimed", ref)
              .doesNotContain(ref);
        }
        Set<AttemptRef> claimed = new HashSet<>(register.running());
        register.ended().forEach(e -> claimed.add(new AttemptRef(e.jobId(), e.attempt())));
        Set<AttemptRef> expected = new HashSet<>(unconfirmedBefore);
        core.attempts().values().stream()
            .filter(a -> !a.contactLost)
            .forEach(a -> expected.add(a.ref));
        assertThat(claimed).as("the registration claims every job and result").isEqualTo(expected);
      }
      case Message.Released released ->
          assertThat(session)
              .as("releases go to the registered connection")
              .isEqualTo(core.registeredSession());
      default -> {}
    }
  }

  /** Attempts with a process, or one on its way. */
  Set<AttemptRef> processes() {
    Set<AttemptRef> all = new HashSet<>(starting);
    all.addAll(running);
    return all;
  }

  private void checkState() {
    int sum = 0;
    for (WorkerCore.Attempt attempt : core.attempts().values()) {
      sum += attempt.slots;
      assertThat(core.unconfirmed())
          .as("%s holds slots and has a result", attempt.ref)
          .doesNotContainKey(attempt.ref);
      assertThat(core.released())
          .as("%s holds slots and is released", attempt.ref)
          .doesNotContain(attempt.ref);
      assertThat(attempt.phase == WorkerCore.Phase.RUNNING)
          .as("%s is running in the core exactly when its process runs", attempt.ref)
          .isEqualTo(running.contains(attempt.ref));
    }
    assertThat(core.slotsUsed()).as("slots in use").isEqualTo(sum).isLessThanOrEqualTo(maxSlots);
    Map<String, Integer> shares = new HashMap<>();
    for (WorkerCore.Attempt attempt : core.attempts().values()) {
      attempt.devices.forEach(
          (resource, indices) ->
              indices.forEach(
                  index ->
                      shares.merge(
                          resource + " " + index, attempt.shares.get(resource), Integer::sum)));
    }
    shares.forEach(
        (device, share) ->
            assertThat(share)
                .as("share of %s held by attempts here", device)
                .isLessThanOrEqualTo(1000));
    for (AttemptRef ref : core.released()) {
      assertThat(core.unconfirmed()).as("%s released and unconfirmed", ref).doesNotContainKey(ref);
    }
    assertThat(processes())
        .as("every process belongs to an attempt that holds slots")
        .isEqualTo(core.attempts().keySet());
    Set<Long> jobs = new HashSet<>();
    for (AttemptRef ref : processes()) {
      if (!jobs.add(ref.jobId())) {
        fail("two attempts of job " + ref.jobId() + " have a process: " + processes());
      }
    }
    for (AttemptRef ref : resultsToKeep) {
      assertThat(core.unconfirmed())
          .as("the result of %s is kept until result_stored", ref)
          .containsKey(ref);
    }
    for (AttemptRef ref : lost) {
      assertThat(core.unconfirmed())
          .as("%s was lost and has no result", ref)
          .doesNotContainKey(ref);
    }
    if (core.workerId() != -1) {
      assertThat(openSessions).contains(core.registeredSession());
    }
  }

  private void checkContactRule() {
    if (!core.stopping() && now - core.lastContact() >= limits.killJobsAfter().toNanos()) {
      assertThat(core.lostAttempts())
          .as("no contact for half the worker timeout: every job is given up")
          .isEqualTo(core.attempts().keySet());
      assertThat(killed).containsAll(core.attempts().keySet());
    }
  }

  private void checkTimeLimits() {
    for (WorkerCore.Attempt attempt : core.attempts().values()) {
      long[] limit = limited.get(attempt.ref);
      if (limit == null || attempt.phase != WorkerCore.Phase.RUNNING) {
        continue;
      }
      boolean pastLimit = now - limit[0] >= limit[1];
      if (pastLimit && !attempt.mustDie()) {
        assertThat(terminated)
            .as("%s ran past its time limit", attempt.ref)
            .containsKey(attempt.ref);
      }
      Long term = terminated.get(attempt.ref);
      if (term != null && now - term >= TIME_LIMIT_GRACE.toNanos()) {
        assertThat(forced)
            .as("%s runs on after its time limit's grace period", attempt.ref)
            .contains(attempt.ref);
      }
    }
  }

  private static SystemInfo system() {
    return new SystemInfo("host", "Linux", "6.1", 4, 2000, 8000, 4000, 0.5, 0.5, 0.5, 100);
  }

  private static WorkerCapacity capacity() {
    return new WorkerCapacity(new Resources(4, 4, 8000), 4, 4000);
  }

  // ---- builders

  static OfferBuilder anOffer(long jobId) {
    return new OfferBuilder(jobId);
  }

  static final class OfferBuilder {
    private final long jobId;
    private int attempt = 1;
    private int slots = 1;
    private boolean missingDirectory;
    private boolean noJob;
    private Long timeLimitSeconds;
    private double gpus;
    private List<Integer> gpuIndices;

    OfferBuilder(long jobId) {
      this.jobId = jobId;
    }

    OfferBuilder attempt(int attempt) {
      this.attempt = attempt;
      return this;
    }

    OfferBuilder slots(int slots) {
      this.slots = slots;
      return this;
    }

    OfferBuilder inMissingDirectory() {
      this.missingDirectory = true;
      return this;
    }

    OfferBuilder timeLimitSeconds(long seconds) {
      this.timeLimitSeconds = seconds;
      return this;
    }

    OfferBuilder gpus(double amount, Integer... indices) {
      this.gpus = amount;
      this.gpuIndices = List.of(indices);
      return this;
    }

    OfferBuilder withoutJob() {
      this.noJob = true;
      return this;
    }

    AttemptRef ref() {
      return new AttemptRef(jobId, attempt);
    }

    Message.Offer build() {
      JobSpec spec =
          noJob
              ? null
              : JobSpecBuilder.builder()
                  .argv(List.of("true"))
                  .cwd(missingDirectory ? "/not/here" : EXISTING_DIR)
                  .slots(slots)
                  .cpus(1)
                  .ramMb(0)
                  .globalResources(Map.of())
                  .timeLimitSeconds(timeLimitSeconds)
                  .workerResources(gpuIndices == null ? Map.of() : Map.of("gpus", gpus))
                  .build();
      return new Message.Offer(
          jobId, attempt, spec, null, gpuIndices == null ? null : Map.of("gpus", gpuIndices));
    }

    String directoryProblem() {
      return missingDirectory && !noJob
          ? "working directory /not/here does not exist on " + NAME
          : null;
    }
  }
}
