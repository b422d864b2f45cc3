package kueue.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import kueue.model.AttemptRef;
import kueue.model.BatchEntry;
import kueue.model.CapturedOutput;
import kueue.model.Dependency;
import kueue.model.DeviceState;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobState;
import kueue.model.JobTransition;
import kueue.model.JobUpdate;
import kueue.model.ResourceUsage;
import kueue.model.Resources;

/**
 * Drives a Scheduler the way the server's loop does (handle one command, then place) with a clock
 * advanced by hand, and checks the scheduler's promises after every step against its own record of
 * what was submitted, declined and killed.
 */
final class SchedulerHarness {
  static final Instant START = Instant.parse("2030-01-01T00:00:00Z");

  final SchedulerSettings settings;
  final Scheduler scheduler;
  Instant now = START;

  /** Everything decided by the last step: the command and the placement after it. */
  Decisions last = new Decisions();

  private long nextRequestId = 1;
  private long nextWorkerId = 1;
  private final Map<Long, Shape> shapes = new HashMap<>();
  private final Set<Long> active = new HashSet<>();
  private final Map<Long, Set<Long>> declinedForever = new HashMap<>();
  private final Map<Long, Set<Long>> deferred = new HashMap<>();
  private final Map<AttemptRef, KilledAttempt> dying = new LinkedHashMap<>();
  private final Set<Long> stopping = new HashSet<>();
  private final Set<Long> submitted = new HashSet<>();
  private final Map<Long, List<Long>> batches = new HashMap<>();
  private final Map<Long, DependencyTargets.ParentEnd> ended = new HashMap<>();

  /** How each ended job ended, for a rerun; removed when it comes back. */
  private final Map<Long, JobState> endedStates = new HashMap<>();

  private final Map<Long, Integer> endedExitCodes = new HashMap<>();
  private final Map<Long, String> canceledNotes = new HashMap<>();
  private final Map<Long, Integer> attempts = new HashMap<>();

  /** Each submitted job's dependencies, a batch's expanded to its jobs as at submission. */
  private final Map<Long, List<Dependency>> dependenciesOf = new HashMap<>();

  /** Jobs waiting out a retry delay: when they may be offered again. */
  private final Map<Long, Instant> retryAt = new HashMap<>();

  /** The state of each active job, replayed from the events through {@link JobTransition}. */
  private final Map<Long, JobState> replayedState = new HashMap<>();

  /** Device indices of each active job's current attempt, from its offer or its restore. */
  private final Map<Long, Map<String, List<Integer>>> assigned = new HashMap<>();

  private record KilledAttempt(
      long workerId,
      Shape shape,
      Instant killedAt,
      boolean started,
      Map<String, List<Integer>> devices) {}

  /** Thousandths of devices as the amounts a spec asks for. */
  private static Map<String, Double> amounts(Map<String, Integer> thousandths) {
    Map<String, Double> amounts = new HashMap<>();
    thousandths.forEach((name, share) -> amounts.put(name, share / 1000.0));
    return amounts;
  }

  /** The shape of a spec, computed here rather than by the scheduler. */
  static Shape shapeOf(JobSpec spec) {
    return shapeOf(spec.demand(), spec.globalResources(), spec.workerResources(), spec.gpuRamMb());
  }

  static Shape shapeOf(
      Resources demand,
      Map<String, Integer> globalResources,
      Map<String, Double> workerResources,
      long gpuRamMb) {
    Map<String, Integer> thousandths = new HashMap<>();
    workerResources.forEach(
        (name, amount) -> thousandths.put(name, (int) Math.round(amount * 1000)));
    return new Shape(demand, globalResources, thousandths, gpuRamMb);
  }

  SchedulerHarness(SchedulerSettings settings) {
    this.settings = settings;
    this.scheduler = new Scheduler(settings, 1);
  }

  static SchedulerHarness create() {
    return new SchedulerHarness(settings().build());
  }

  static SettingsBuilder settings() {
    return new SettingsBuilder();
  }

  // ---- steps

  List<Long> submit(JobBuilder... jobs) {
    Decisions decisions = submitSpecs(Arrays.stream(jobs).map(JobBuilder::build).toList());
    Effect.SubmitAccepted accepted = only(decisions, Effect.SubmitAccepted.class);
    return accepted.jobIds();
  }

  long submitOne(JobBuilder job) {
    return submit(job).getFirst();
  }

  Decisions submitSpecs(List<JobSpec> specs) {
    return step(
        new Command.Submit(
            nextRequestId++, specs, targets(specs.stream().map(JobSpec::dependencies).toList())));
  }

  /**
   * What the store would answer for the ids the dependencies name: a batch id stands for its jobs,
   * and jobs that ended are given with how they ended.
   */
  DependencyTargets targets(List<List<Dependency>> dependencies) {
    Map<Long, List<Long>> jobsOf = new HashMap<>();
    Map<Long, DependencyTargets.ParentEnd> endedParents = new HashMap<>();
    for (List<Dependency> list : dependencies) {
      for (Dependency dependency : list) {
        List<Long> members = batches.get(dependency.jobId());
        if (members == null && submitted.contains(dependency.jobId())) {
          members = List.of(dependency.jobId());
        }
        if (members != null) {
          jobsOf.put(dependency.jobId(), members);
          for (long member : members) {
            if (ended.containsKey(member)) {
              endedParents.put(member, ended.get(member));
            }
          }
        }
      }
    }
    return new DependencyTargets(jobsOf, endedParents);
  }

  Decisions update(List<Long> jobIds, JobUpdate update) {
    return step(new Command.UpdateJobs(nextRequestId++, jobIds, update));
  }

  /**
   * Requeues ended jobs as the server does: with the jobs canceled because of them (down the chain)
   * and each one's dependencies with where its parents stand.
   */
  Decisions rerun(Long... jobIds) {
    Set<Long> asked = Set.of(jobIds);
    java.util.TreeSet<Long> coming = new java.util.TreeSet<>(asked);
    boolean grew = true;
    while (grew) {
      grew = false;
      for (var entry : dependenciesOf.entrySet()) {
        String note = canceledNotes.get(entry.getKey());
        if (note == null || coming.contains(entry.getKey())) {
          continue;
        }
        for (Dependency dependency : entry.getValue()) {
          if (coming.contains(dependency.jobId())
              && note.startsWith("dependency on job " + dependency.jobId() + " failed")) {
            grew |= coming.add(entry.getKey());
            break;
          }
        }
      }
    }
    List<RestoredJob> jobs = new ArrayList<>();
    for (long id : coming) {
      JobState state = endedStates.getOrDefault(id, JobState.PENDING);
      List<RestoredJob.RestoredDependency> dependencies = new ArrayList<>();
      for (Dependency dependency : dependenciesOf.getOrDefault(id, List.of())) {
        long parent = dependency.jobId();
        dependencies.add(
            new RestoredJob.RestoredDependency(
                dependency.kind(),
                parent,
                endedStates.getOrDefault(parent, JobState.PENDING),
                endedExitCodes.get(parent)));
      }
      Shape shape = shapes.get(id);
      jobs.add(
          new RestoredJob(
              id,
              state,
              shape.demand(),
              shape.globalResources(),
              attempts.getOrDefault(id, 0),
              now,
              0,
              0,
              0,
              null,
              amounts(shape.workerResources()),
              shape.gpuRamMb(),
              Map.of(),
              0,
              dependencies));
    }
    return step(new Command.Rerun(nextRequestId++, jobs, asked));
  }

  Decisions hold(Long... jobIds) {
    return update(List.of(jobIds), JobUpdate.holding(true));
  }

  Decisions releaseHold(Long... jobIds) {
    return update(List.of(jobIds), JobUpdate.holding(false));
  }

  /** The reason the job was canceled with, from the last step's events. */
  String canceledReason(long jobId) {
    return events(Event.JobCanceled.class).stream()
        .filter(canceled -> canceled.jobId() == jobId)
        .map(Event.JobCanceled::reason)
        .findFirst()
        .orElseThrow(() -> new AssertionError("job " + jobId + " was not canceled"));
  }

  /** The jobs that have ended, in id order. */
  List<Long> endedJobs() {
    return ended.keySet().stream().sorted().toList();
  }

  /** Whether the job has ended (the scheduler has forgotten it). */
  boolean hasEnded(long jobId) {
    return ended.containsKey(jobId);
  }

  long connect(WorkerBuilder worker, AttemptRef... running) {
    long id = nextWorkerId++;
    connectAs(id, worker, running);
    return id;
  }

  Decisions connectAs(long workerId, WorkerBuilder worker, AttemptRef... running) {
    nextWorkerId = Math.max(nextWorkerId, workerId + 1);
    return step(
        new Command.ConnectWorker(workerId, worker.name(), worker.capacity(), List.of(running)));
  }

  Decisions update(long workerId, WorkerBuilder worker) {
    return step(new Command.UpdateWorker(workerId, worker.capacity()));
  }

  Decisions disconnect(long workerId) {
    return step(new Command.DisconnectWorker(workerId, "connection closed"));
  }

  /** Disconnects the worker and lets its worker timeout pass, so its attempts are lost. */
  Decisions disconnectAndWaitOut(long workerId) {
    disconnect(workerId);
    advance(settings.workerTimeout());
    return tick();
  }

  Decisions release(long workerId, long jobId, int attempt) {
    return step(new Command.Release(workerId, jobId, attempt, "worker stopping"));
  }

  Decisions decline(long workerId, long jobId, int attempt, boolean permanent) {
    return decline(workerId, jobId, attempt, permanent, "no such directory");
  }

  Decisions decline(long workerId, long jobId, int attempt, boolean permanent, String reason) {
    return step(new Command.Decline(workerId, jobId, attempt, permanent, reason));
  }

  Decisions declineCurrent(long jobId, boolean permanent) {
    ActiveJobView job = view(jobId);
    return decline(job.workerId(), jobId, job.attempt(), permanent);
  }

  Decisions start(long workerId, long jobId, int attempt) {
    return step(new Command.MarkStarted(workerId, jobId, attempt, now));
  }

  Decisions startCurrent(long jobId) {
    ActiveJobView job = view(jobId);
    return start(job.workerId(), jobId, job.attempt());
  }

  Decisions endCurrent(long jobId, int exitCode) {
    ActiveJobView job = view(jobId);
    return end(job.workerId(), jobId, job.attempt(), exitCode);
  }

  Decisions end(long workerId, long jobId, int attempt, int exitCode) {
    JobOutcome outcome = new JobOutcome(exitCode, null, null, now, now);
    return step(
        new Command.MarkEnded(
            workerId,
            jobId,
            attempt,
            outcome,
            new CapturedOutput("done\n", 0),
            CapturedOutput.EMPTY));
  }

  /** The current attempt ended because its worker stopped it at the time limit. */
  Decisions timeOutCurrent(long jobId) {
    ActiveJobView job = view(jobId);
    return timeOut(job.workerId(), jobId, job.attempt());
  }

  Decisions timeOut(long workerId, long jobId, int attempt) {
    JobOutcome outcome = new JobOutcome(null, 15, null, now, now, true);
    return step(
        new Command.MarkEnded(
            workerId, jobId, attempt, outcome, CapturedOutput.EMPTY, CapturedOutput.EMPTY));
  }

  Decisions endCurrent(long jobId) {
    ActiveJobView job = view(jobId);
    return end(job.workerId(), jobId, job.attempt(), 0);
  }

  Decisions cancel(long jobId, boolean kill) {
    return step(new Command.Cancel(nextRequestId++, jobId, kill));
  }

  /** The request id of the last command that had one. */
  long lastRequestId() {
    return nextRequestId - 1;
  }

  Decisions cancelAll(List<Long> jobIds, boolean kill) {
    return step(new Command.CancelJobs(nextRequestId++, jobIds, kill));
  }

  Decisions submitBatch(JobSpec shared, List<BatchEntry> entries) {
    return step(
        new Command.SubmitBatch(
            nextRequestId++, shared, entries, targets(List.of(shared.dependencies()))));
  }

  Decisions tick() {
    return step(new Command.Tick());
  }

  void advance(Duration duration) {
    now = now.plus(duration);
  }

  void restore(List<RestoredJob> jobs) {
    for (RestoredJob job : jobs) {
      shapes.put(
          job.jobId(),
          shapeOf(job.demand(), job.globalResources(), job.workerResources(), job.gpuRamMb()));
      if (job.state().isOnWorker()) {
        assigned.put(job.jobId(), job.devices());
      }
      active.add(job.jobId());
      submitted.add(job.jobId());
      replayedState.put(job.jobId(), job.state());
      if (job.notBefore() != null) {
        retryAt.put(job.jobId(), job.notBefore());
      }
    }
    scheduler.restore(jobs, now);
    checkState();
  }

  /** One turn of the server's loop: the command, then placement, with every promise checked. */
  Decisions step(Command command) {
    Decisions decisions = new Decisions();
    Map<Long, JobState> canceledFrom = new HashMap<>();
    List<Long> toCancel =
        switch (command) {
          case Command.Cancel cancel -> List.of(cancel.jobId());
          case Command.CancelJobs cancel -> cancel.jobIds();
          default -> List.of();
        };
    for (long jobId : toCancel) {
      scheduler.activeJob(jobId).ifPresent(job -> canceledFrom.putIfAbsent(jobId, job.state()));
    }
    scheduler.handle(command, now, decisions);
    learn(command, decisions, canceledFrom);
    checkState();
    Map<Long, Resources> freeBefore = new HashMap<>();
    Map<Long, List<DeviceState>> devicesBefore = new HashMap<>();
    scheduler
        .workers()
        .forEach(
            worker -> {
              freeBefore.put(worker.workerId(), worker.free());
              devicesBefore.put(worker.workerId(), worker.devices());
            });
    Decisions placement = new Decisions();
    scheduler.place(now, placement);
    learn(null, placement, Map.of());
    checkPlacement(placement, freeBefore);
    checkDevicePlacement(placement, devicesBefore);
    checkState();
    checkNothingFittingWaits();
    placement.events().forEach(decisions::record);
    placement.effects().forEach(decisions::then);
    last = decisions;
    return decisions;
  }

  // ---- queries

  ActiveJobView view(long jobId) {
    return scheduler
        .activeJob(jobId)
        .orElseThrow(() -> new AssertionError("job " + jobId + " is not active"));
  }

  JobState state(long jobId) {
    return view(jobId).state();
  }

  long workerOf(long jobId) {
    return view(jobId).workerId();
  }

  String pendingReason(long jobId) {
    return view(jobId).pendingReason();
  }

  WorkerView worker(long workerId) {
    return scheduler.workers().stream()
        .filter(worker -> worker.workerId() == workerId)
        .findFirst()
        .orElseThrow(() -> new AssertionError("worker " + workerId + " is not connected"));
  }

  int used(String resource) {
    return scheduler.resources().stream()
        .filter(usage -> usage.name().equals(resource))
        .findFirst()
        .orElseThrow()
        .used();
  }

  /** Offers made by the last step, as job id to worker id, in the order they were made. */
  Map<Long, Long> offers() {
    Map<Long, Long> offers = new LinkedHashMap<>();
    for (Effect effect : last.effects()) {
      if (effect instanceof Effect.SendOffer offer) {
        offers.put(offer.jobId(), offer.workerId());
      }
    }
    return offers;
  }

  <T> List<T> events(Class<T> type) {
    return last.events().stream().filter(type::isInstance).map(type::cast).toList();
  }

  <T> List<T> effects(Class<T> type) {
    return last.effects().stream().filter(type::isInstance).map(type::cast).toList();
  }

  static <T> T only(Decisions decisions, Class<T> type) {
    List<T> matching =
        decisions.effects().stream().filter(type::isInstance).map(type::cast).toList();
    if (matching.size() != 1) {
      fail("expected one " + type.getSimpleName() + " in " + decisions.effects());
    }
    return matching.getFirst();
  }

  Set<Long> activeJobs() {
    return Set.copyOf(active);
  }

  // ---- what the harness knows independently of the scheduler

  private void learn(Command command, Decisions decisions, Map<Long, JobState> canceledFrom) {
    for (Event event : decisions.events()) {
      replay(event);
      switch (event) {
        case Event.JobQueued queued -> {
          active.add(queued.jobId());
          List<Dependency> expanded = new ArrayList<>();
          for (Dependency dependency : queued.spec().dependencies()) {
            for (long parent :
                batches.getOrDefault(dependency.jobId(), List.of(dependency.jobId()))) {
              expanded.add(new Dependency(dependency.kind(), parent));
            }
          }
          if (!expanded.isEmpty()) {
            dependenciesOf.put(queued.jobId(), expanded);
          }
          submitted.add(queued.jobId());
          if (queued.spec().batch() != null) {
            batches
                .computeIfAbsent(queued.spec().batch(), batch -> new ArrayList<>())
                .add(queued.jobId());
          }
          shapes.put(queued.jobId(), shapeOf(queued.spec()));
        }
        case Event.JobOffered offered -> {
          attempts.put(offered.jobId(), offered.attempt());
          assigned.put(offered.jobId(), offered.devices());
          retryAt.remove(offered.jobId());
        }
        case Event.JobRerun rerun -> {
          // Jobs still waiting or queued have counted this dependency as decided already; what the
          // new attempt does is no longer theirs to wait for.
          for (var entry : dependenciesOf.entrySet()) {
            if (active.contains(entry.getKey())) {
              entry.getValue().removeIf(dependency -> dependency.jobId() == rerun.jobId());
            }
          }
          active.add(rerun.jobId());
          // A worker's refusal was of the earlier run; the user may have fixed what it lacked.
          declinedForever.remove(rerun.jobId());
          ended.remove(rerun.jobId());
          endedStates.remove(rerun.jobId());
          endedExitCodes.remove(rerun.jobId());
          canceledNotes.remove(rerun.jobId());
        }
        case Event.JobEnded end -> {
          endedStates.put(end.jobId(), JobState.FINISHED);
          endedExitCodes.put(end.jobId(), end.outcome().exitCode());
          active.remove(end.jobId());
          Integer exit = end.outcome().exitCode();
          boolean succeeded = exit != null && exit == 0;
          ended.put(
              end.jobId(),
              new DependencyTargets.ParentEnd(succeeded, succeeded ? "succeeded" : "failed"));
        }
        case Event.JobCanceled canceled -> {
          endedStates.put(canceled.jobId(), JobState.CANCELED);
          canceledNotes.put(canceled.jobId(), canceled.reason());
          active.remove(canceled.jobId());
          ended.put(canceled.jobId(), new DependencyTargets.ParentEnd(false, "was canceled"));
        }
        case Event.JobFailed failed -> {
          endedStates.put(failed.jobId(), JobState.FINISHED);
          active.remove(failed.jobId());
          ended.put(failed.jobId(), new DependencyTargets.ParentEnd(false, "failed"));
        }
        case Event.JobTimedOut timedOut -> {
          endedStates.put(timedOut.jobId(), JobState.TIMED_OUT);
          active.remove(timedOut.jobId());
          ended.put(timedOut.jobId(), new DependencyTargets.ParentEnd(false, "timed out"));
        }
        case Event.JobRetried retried -> {
          if (retried.notBefore() != null) {
            retryAt.put(retried.jobId(), retried.notBefore());
          }
        }
        case Event.JobDeclined declined when command instanceof Command.Decline decline -> {
          if (decline.permanent()) {
            declinedForever
                .computeIfAbsent(declined.jobId(), id -> new HashSet<>())
                .add(decline.workerId());
          } else {
            deferred
                .computeIfAbsent(decline.workerId(), id -> new HashSet<>())
                .add(declined.jobId());
          }
        }
        default -> {}
      }
    }
    switch (command) {
      case Command.UpdateWorker update -> deferred.remove(update.workerId());
      case Command.ConnectWorker connect -> deferred.remove(connect.workerId());
      case Command.DisconnectWorker disconnect -> forgetWorker(disconnect.workerId());
      case Command.MarkEnded ended -> dying.remove(new AttemptRef(ended.jobId(), ended.attempt()));
      case Command.Decline decline ->
          dying.remove(new AttemptRef(decline.jobId(), decline.attempt()));
      case Command.Release release -> {
        dying.remove(new AttemptRef(release.jobId(), release.attempt()));
        stopping.add(release.workerId());
      }
      case Command.MarkStarted started ->
          dying.computeIfPresent(
              new AttemptRef(started.jobId(), started.attempt()),
              (attempt, killed) ->
                  killed.workerId() == started.workerId()
                      ? new KilledAttempt(
                          killed.workerId(),
                          killed.shape(),
                          killed.killedAt(),
                          true,
                          killed.devices())
                      : killed);
      case Command.Tick tick ->
          dying
              .values()
              .removeIf(
                  killed ->
                      !killed.started()
                          && killed.killedAt().plus(settings.offerTimeout()).isBefore(now));
      case null, default -> {}
    }
    for (Effect effect : decisions.effects()) {
      if (effect instanceof Effect.SendKill kill
          && kill.reason().equals(Scheduler.CANCELED_BY_USER)) {
        dying.put(
            new AttemptRef(kill.jobId(), kill.attempt()),
            new KilledAttempt(
                kill.workerId(),
                shapes.get(kill.jobId()),
                now,
                command instanceof Command.ConnectWorker
                    || canceledFrom.get(kill.jobId()) == JobState.RUNNING,
                assigned.getOrDefault(kill.jobId(), Map.of())));
      }
      if (effect instanceof Effect.CloseWorker close) {
        forgetWorker(close.workerId());
      }
    }
  }

  /** Every state change is recorded by an event, and each event's move is legal. */
  private void replay(Event event) {
    JobTransition transition = Event.transitionOf(event);
    if (transition == null) {
      return;
    }
    long jobId = Event.jobIdOf(event);
    JobState before = replayedState.get(jobId);
    if (before == null && transition == JobTransition.RERUN) {
      before = endedStates.get(jobId);
    }
    if (transition.from().isEmpty()) {
      assertThat(before).as("%s of job %d, which exists already", transition, jobId).isNull();
    } else {
      assertThat(before)
          .as("%s of job %d in state %s", transition, jobId, before)
          .isIn(transition.from());
    }
    if (transition.to().isTerminal()) {
      replayedState.remove(jobId);
    } else {
      replayedState.put(jobId, transition.to());
    }
  }

  private void forgetWorker(long workerId) {
    deferred.remove(workerId);
    // Back under the same id (keyed by its name), it may have been fixed: its declines are over.
    declinedForever.values().forEach(workers -> workers.remove(workerId));
    dying.values().removeIf(killed -> killed.workerId() == workerId);
  }

  // ---- the promises

  private void checkState() {
    assertThat(replayedState.keySet()).as("jobs that have not ended").isEqualTo(active);
    checkDependencies();
    for (long jobId : active) {
      assertThat(view(jobId).state())
          .as("state of job %d after the moves its events record", jobId)
          .isEqualTo(replayedState.get(jobId));
    }
    Map<Long, Long> holder = new HashMap<>();
    for (WorkerView worker : scheduler.workers()) {
      Resources expected = Resources.NONE;
      for (long jobId : worker.jobIds()) {
        Long other = holder.put(jobId, worker.workerId());
        assertThat(other).as("job %d is held by two workers", jobId).isNull();
        ActiveJobView job = view(jobId);
        assertThat(job.state().isOnWorker())
            .as("job %d held by a worker is %s", jobId, job.state())
            .isTrue();
        assertThat(job.workerId()).as("worker of job %d", jobId).isEqualTo(worker.workerId());
        expected = expected.plus(shapes.get(jobId).demand());
      }
      for (KilledAttempt killed : dying.values()) {
        if (killed.workerId() == worker.workerId()) {
          expected = expected.plus(killed.shape().demand());
        }
      }
      assertThat(worker.reserved())
          .as("reserved on worker %d", worker.workerId())
          .isEqualTo(expected);
      checkDevices(worker);
      assertThat(worker.free().fitsIn(worker.capacity().free(worker.reserved())))
          .as("free on worker %d is at most what its report leaves free", worker.workerId())
          .isTrue();
    }
    Map<String, Integer> expectedUse = new TreeMap<>();
    int slotsInUse = 0;
    List<Shape> holding = new ArrayList<>();
    for (long jobId : active) {
      ActiveJobView job = view(jobId);
      if (job.state().isOnWorker()) {
        holding.add(shapes.get(jobId));
        if (job.workerId() != -1) {
          assertThat(holder)
              .as("job %d claims worker %d", jobId, job.workerId())
              .containsEntry(jobId, job.workerId());
        }
      } else {
        assertThat(job.workerId()).as("worker of pending job %d", jobId).isEqualTo(-1);
        assertThat(job.pendingReason()).as("pending reason of job %d", jobId).isNotBlank();
      }
    }
    dying.values().forEach(killed -> holding.add(killed.shape()));
    for (Shape shape : holding) {
      slotsInUse += shape.demand().slots();
      shape
          .globalResources()
          .forEach((name, count) -> expectedUse.merge(name, count, Integer::sum));
    }
    assertThat(slotsInUse)
        .as("job slots of running jobs")
        .isLessThanOrEqualTo(settings.globalMaxParallelJobs());
    for (ResourceUsage usage : scheduler.resources()) {
      assertThat(usage.used())
          .as("use of %s", usage.name())
          .isEqualTo(expectedUse.getOrDefault(usage.name(), 0));
      assertThat(usage.used()).as("use of %s", usage.name()).isLessThanOrEqualTo(usage.total());
    }
    assertThat(holder.keySet()).as("jobs held by workers are active").isSubsetOf(active);
  }

  /**
   * What the worker's jobs hold of each device is the sum of their shares, and the scheduler's view
   * says the same. It may exceed one device only through claims (a worker reports an attempt as its
   * own, which the scheduler takes as a fact); the scheduler itself never assigns beyond one, see
   * {@link #checkDevicePlacement}.
   */
  private void checkDevices(WorkerView worker) {
    Map<String, Integer> expected = new HashMap<>();
    for (long jobId : worker.jobIds()) {
      addShares(expected, shapes.get(jobId), assigned.getOrDefault(jobId, Map.of()));
    }
    for (KilledAttempt killed : dying.values()) {
      if (killed.workerId() == worker.workerId()) {
        addShares(expected, killed.shape(), killed.devices());
      }
    }
    for (DeviceState state : worker.devices()) {
      String device = state.device().resource() + " " + state.device().index();
      assertThat(Math.round(state.taken() * 1000))
          .as("taken of %s on worker %d", device, worker.workerId())
          .isEqualTo(expected.getOrDefault(device, 0).longValue());
    }
  }

  private static void addShares(
      Map<String, Integer> shares, Shape shape, Map<String, List<Integer>> devices) {
    devices.forEach(
        (resource, indices) -> {
          int amount = shape.workerResources().getOrDefault(resource, 1000);
          int share = Math.min(amount, 1000);
          assertThat(indices.size())
              .as("devices of %s for %s", resource, shape)
              .isEqualTo(amount < 1000 ? 1 : amount / 1000);
          assertThat(Set.copyOf(indices)).as("distinct devices").hasSameSizeAs(indices);
          indices.forEach(index -> shares.merge(resource + " " + index, share, Integer::sum));
        });
  }

  /** Whether the worker's view leaves the devices a shape needs, computed here. */
  private static boolean devicesFree(Shape shape, WorkerView worker) {
    for (Map.Entry<String, Integer> ask : shape.workerResources().entrySet()) {
      int share = Math.min(ask.getValue(), 1000);
      int need = ask.getValue() < 1000 ? 1 : ask.getValue() / 1000;
      long fitting =
          worker.devices().stream()
              .filter(state -> state.device().resource().equals(ask.getKey()))
              .filter(state -> state.device().busy() == null)
              .filter(state -> Math.round(state.taken() * 1000) + share <= 1000)
              .filter(
                  state ->
                      shape.gpuRamMb() == 0
                          || !ask.getKey().equals("gpus")
                          || state.device().memoryFreeMb() >= shape.gpuRamMb())
              .count();
      if (fitting < need) {
        return false;
      }
    }
    return true;
  }

  /**
   * Offers assign only devices the worker reported, not busy, with room for the job's share on top
   * of what was taken before the pass and of the other offers of the pass; with enough free memory
   * for a GPU memory request.
   */
  private void checkDevicePlacement(
      Decisions placement, Map<Long, List<DeviceState>> devicesBefore) {
    Map<String, Integer> taken = new HashMap<>();
    devicesBefore.forEach(
        (workerId, states) ->
            states.forEach(
                state ->
                    taken.put(
                        workerId + " " + state.device().resource() + " " + state.device().index(),
                        (int) Math.round(state.taken() * 1000))));
    for (Effect effect : placement.effects()) {
      if (!(effect instanceof Effect.SendOffer offer)) {
        continue;
      }
      Shape shape = shapes.get(offer.jobId());
      assertThat(offer.devices().keySet())
          .as("devices offered to job %d", offer.jobId())
          .isEqualTo(shape.workerResources().keySet());
      addShares(new HashMap<>(), shape, offer.devices());
      offer
          .devices()
          .forEach(
              (resource, indices) -> {
                int share = Math.min(shape.workerResources().get(resource), 1000);
                for (int index : indices) {
                  String device = offer.workerId() + " " + resource + " " + index;
                  DeviceState state =
                      devicesBefore.get(offer.workerId()).stream()
                          .filter(
                              s ->
                                  s.device().resource().equals(resource)
                                      && s.device().index() == index)
                          .findFirst()
                          .orElseThrow(
                              () -> new AssertionError("job offered unknown device " + device));
                  assertThat(state.device().busy()).as("busy device %s offered", device).isNull();
                  if (shape.gpuRamMb() > 0 && resource.equals("gpus")) {
                    assertThat(state.device().memoryFreeMb())
                        .as("free memory of %s", device)
                        .isGreaterThanOrEqualTo(shape.gpuRamMb());
                  }
                  int after = taken.merge(device, share, Integer::sum);
                  assertThat(after)
                      .as("share of %s after offering it", device)
                      .isLessThanOrEqualTo(1000);
                }
              });
    }
  }

  /**
   * Nothing waits for a dependency that can never be met (it is canceled at once), a waiting job
   * has a dependency not yet met, and a job placed or pending has all of them met.
   */
  private void checkDependencies() {
    for (var entry : dependenciesOf.entrySet()) {
      long jobId = entry.getKey();
      if (!active.contains(jobId)) {
        continue;
      }
      boolean allMet = true;
      for (Dependency dependency : entry.getValue()) {
        DependencyTargets.ParentEnd end = ended.get(dependency.jobId());
        if (end == null) {
          allMet = false;
        } else if (!dependency.kind().metBy(end.succeeded())) {
          fail(
              "job %d is %s though its dependency %s on job %d can never be met",
              jobId, view(jobId).state(), dependency.kind(), dependency.jobId());
        }
      }
      JobState state = view(jobId).state();
      if (state == JobState.WAITING) {
        assertThat(allMet).as("job %d waits though all its dependencies are met", jobId).isFalse();
      } else if (state != JobState.HELD) {
        assertThat(allMet)
            .as("job %d is %s before its dependencies are met", jobId, state)
            .isTrue();
      }
    }
  }

  private void checkPlacement(Decisions placement, Map<Long, Resources> freeBefore) {
    Map<Long, Resources> offered = new HashMap<>();
    for (Effect effect : placement.effects()) {
      if (effect instanceof Effect.SendOffer offer) {
        assertThat(declinedForever.getOrDefault(offer.jobId(), Set.of()))
            .as("job %d offered to worker %d that declined it", offer.jobId(), offer.workerId())
            .doesNotContain(offer.workerId());
        assertThat(deferred.getOrDefault(offer.workerId(), Set.of()))
            .as(
                "job %d offered again to worker %d before its next report",
                offer.jobId(), offer.workerId())
            .doesNotContain(offer.jobId());
        offered.merge(offer.workerId(), shapes.get(offer.jobId()).demand(), Resources::plus);
      }
    }
    offered.forEach(
        (workerId, demand) ->
            assertThat(demand.fitsIn(freeBefore.get(workerId)))
                .as(
                    "offers of %s to worker %d with %s free",
                    demand, workerId, freeBefore.get(workerId))
                .isTrue());
  }

  private void checkNothingFittingWaits() {
    List<WorkerView> workers = scheduler.workers();
    Map<String, Integer> used = new HashMap<>();
    Map<String, Integer> totals = new HashMap<>();
    scheduler
        .resources()
        .forEach(
            usage -> {
              used.put(usage.name(), usage.used());
              totals.put(usage.name(), usage.total());
            });
    int slotsInUse = 0;
    for (long jobId : active) {
      if (view(jobId).state().isOnWorker()) {
        slotsInUse += shapes.get(jobId).demand().slots();
      }
    }
    for (KilledAttempt killed : dying.values()) {
      slotsInUse += killed.shape().demand().slots();
    }
    for (long jobId : active) {
      if (view(jobId).state() != JobState.PENDING) {
        continue;
      }
      Instant retry = retryAt.get(jobId);
      if (retry != null && now.isBefore(retry)) {
        continue;
      }
      Shape shape = shapes.get(jobId);
      if (slotsInUse + shape.demand().slots() > settings.globalMaxParallelJobs()) {
        continue;
      }
      boolean resourcesFree =
          shape.globalResources().entrySet().stream()
              .allMatch(
                  ask ->
                      used.getOrDefault(ask.getKey(), 0) + ask.getValue()
                          <= totals.getOrDefault(ask.getKey(), 0));
      if (!resourcesFree) {
        continue;
      }
      for (WorkerView worker : workers) {
        boolean willing =
            !stopping.contains(worker.workerId())
                && !declinedForever.getOrDefault(jobId, Set.of()).contains(worker.workerId())
                && !deferred.getOrDefault(worker.workerId(), Set.of()).contains(jobId);
        if (willing && shape.demand().fitsIn(worker.free()) && devicesFree(shape, worker)) {
          fail(
              "job %d (%s) is pending while worker %d has %s free",
              jobId, shape, worker.workerId(), worker.free());
        }
      }
    }
  }

  static final class SettingsBuilder {
    private int maxParallelJobs = 100;
    private final Map<String, Integer> resources = new TreeMap<>();
    private Duration workerTimeout = Duration.ofSeconds(300);
    private Duration offerTimeout = Duration.ofSeconds(60);
    private Duration cleanupAfter = Duration.ofHours(48);
    private int maxAttempts = 3;
    private Duration declinedTimeout = Duration.ZERO;

    SettingsBuilder declinedTimeout(Duration declinedTimeout) {
      this.declinedTimeout = declinedTimeout;
      return this;
    }

    SettingsBuilder maxParallelJobs(int maxParallelJobs) {
      this.maxParallelJobs = maxParallelJobs;
      return this;
    }

    SettingsBuilder resource(String name, int total) {
      resources.put(name, total);
      return this;
    }

    SettingsBuilder workerTimeout(Duration workerTimeout) {
      this.workerTimeout = workerTimeout;
      return this;
    }

    SettingsBuilder offerTimeout(Duration offerTimeout) {
      this.offerTimeout = offerTimeout;
      return this;
    }

    SettingsBuilder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
      return this;
    }

    SchedulerSettings build() {
      return new SchedulerSettings(
          maxParallelJobs,
          resources,
          workerTimeout,
          offerTimeout,
          cleanupAfter,
          maxAttempts,
          declinedTimeout);
    }

    SchedulerHarness harness() {
      return new SchedulerHarness(build());
    }
  }
}
