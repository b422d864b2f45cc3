package kueue.core;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import kueue.model.AttemptRef;
import kueue.model.BatchEntry;
import kueue.model.Dependency;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.JobState;
import kueue.model.JobUpdate;
import kueue.model.ResourceUsage;
import kueue.model.Resources;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerResources;

/**
 * The scheduling core: jobs that have not ended, connected workers, the pending queue, global
 * resources and timeouts, as a plain state machine. No I/O, no threads, no clock: the time of every
 * input is an argument, so the same inputs always give the same decisions. One thread (the server's
 * loop) owns an instance.
 *
 * <p>Finished and canceled jobs leave the scheduler's memory: they live only in the store.
 *
 * <p>Pending jobs are queued per {@link Shape}, so a placement pass costs O(shapes + placed jobs),
 * not O(pending jobs). Messages that refer to an attempt which is no longer current are ignored
 * (they change no state), except that a stale start is answered with a kill and a stale result with
 * a confirmation, so that the worker neither runs nor remembers a superseded attempt.
 */
public final class Scheduler {
  static final String CANCELED_BY_USER = "canceled by user";
  static final String SUPERSEDED = "superseded";
  static final String NOT_RECLAIMED = "worker did not come back after server restart";
  static final String SUCCEEDED = "succeeded";
  static final String FAILED = "failed";
  static final String WAS_CANCELED = "was canceled";
  static final String TIMED_OUT = "timed out";
  private static final WorkerCapacity NO_CAPACITY = new WorkerCapacity(Resources.NONE, 0, 0);

  private final SchedulerSettings settings;
  private final GlobalLimits limits;
  private long nextJobId;
  private Map<Long, Job> jobs = new HashMap<>();
  private final Map<Shape, PendingQueue> queues = new HashMap<>();
  private final TreeMap<Long, Job> parked = new TreeMap<>();

  /**
   * The time of the command or placement being handled, for the few places deep in a call chain
   * that note when something happened (a job parked).
   */
  private Instant latest;

  /** The next {@link Worker#session}. */
  private long nextWorkerSession = 1;

  /** Pending jobs waiting out their retry delay, kept out of the shape queues until it is over. */
  private final PriorityQueue<Job> delayed =
      new PriorityQueue<>(Comparator.comparing(Job::notBefore).thenComparingLong(job -> job.id));

  private final TreeMap<Long, Worker> workers = new TreeMap<>();

  /**
   * OFFERED and RUNNING jobs that no connected worker holds: restored from the store, or left by a
   * worker whose connection closed. They keep their resources until a worker claims them or their
   * claim deadline passes.
   */
  private final TreeMap<Long, Job> unclaimed = new TreeMap<>();

  private long lastExpiryMinute = Long.MIN_VALUE;

  /**
   * Restored jobs whose dependencies the restore found decided (a parent ended as stored): they are
   * canceled (with the reason) or unblocked by the next placement, which can record events.
   */
  private final Map<Job, String> restoredCancels = new java.util.LinkedHashMap<>();

  private final List<Job> restoredUnblocks = new ArrayList<>();

  /** The jobs one CancelJobs canceled, by id; empty between commands. */
  private final Map<Long, Job> canceledJobs = new HashMap<>();

  public Scheduler(SchedulerSettings settings, long nextJobId) {
    this.settings = settings;
    this.limits = new GlobalLimits(settings.globalMaxParallelJobs(), settings.globalResources());
    this.nextJobId = nextJobId;
  }

  /**
   * Puts jobs read from the store back, at start-up, before any command. OFFERED and RUNNING jobs
   * wait for their worker to reconnect and claim them; unclaimed ones are requeued by the first
   * Tick at or after {@code now + workerTimeout}.
   */
  public void restore(List<RestoredJob> restored, Instant now) {
    Restoration restoration = restoring(now, restored.size());
    restored.forEach(restoration);
    restoration.finish();
  }

  /**
   * Like {@link #restore}, one job at a time as the store reads them, so that a million of them are
   * never held in a list; {@link Restoration#finish()} queues the pending ones. No command may come
   * before it.
   *
   * @param expectedJobs how many jobs will come, to size the tables once; a guess is fine
   */
  public Restoration restoring(Instant now, int expectedJobs) {
    if (jobs.isEmpty() && expectedJobs > 0) {
      // A million restored jobs would otherwise rehash the map twenty times.
      jobs = HashMap.newHashMap(expectedJobs);
    }
    return new Restoration(now);
  }

  /** See {@link #restoring}. */
  public final class Restoration implements Consumer<RestoredJob> {
    private final Instant now;

    /** Pending jobs per shape, queued in bulk by finish(). */
    private final Map<Shape, List<Job>> pending = new HashMap<>();

    private final Map<Shape, Shape> shapes = new HashMap<>();
    private Resources lastDemand;
    private Map<String, Integer> lastResources;
    private int lastPriority;

    /** Held and waiting jobs with their stored dependencies, linked by finish(). */
    private final List<Map.Entry<Job, List<RestoredJob.RestoredDependency>>> dependencies =
        new ArrayList<>();

    private Shape shape;
    private List<Job> queue;

    private Restoration(Instant now) {
      this.now = now;
    }

    @Override
    public void accept(RestoredJob entry) {
      if (entry == null || entry.state() == null || entry.state().isTerminal()) {
        return;
      }
      // The store hands consecutive jobs of one submission the same demand objects, so the shape
      // is looked up once per run of them.
      if (entry.demand() != lastDemand
          || entry.globalResources() != lastResources
          || !entry.workerResources().isEmpty()
          || (shape != null && shape.needsDevices())
          || entry.priority() != lastPriority) {
        lastDemand = entry.demand();
        lastResources = entry.globalResources();
        lastPriority = entry.priority();
        shape =
            shapes.computeIfAbsent(
                shapeOf(
                    lastDemand,
                    lastResources,
                    entry.workerResources(),
                    entry.gpuRamMb(),
                    lastPriority),
                k -> k);
        queue = pending.computeIfAbsent(shape, k -> new ArrayList<>());
      }
      Job job = new Job(entry.jobId(), shape, entry.submitted(), entry.state());
      job.attempt = entry.attempt();
      if (entry.retries() > 0) {
        job.retries = new Job.Retries(entry.retries(), entry.retryDelaySeconds(), entry.retried());
      }
      if (entry.state().isOnWorker()) {
        job.devices = entry.devices();
      }
      if (entry.state() == JobState.PENDING
          && job.retries != null
          && entry.notBefore() != null
          && now.isBefore(entry.notBefore())) {
        jobs.put(job.id, job);
        delay(job, entry.notBefore());
      } else if (entry.state() == JobState.PENDING) {
        queue.add(job);
      } else if (entry.state() == JobState.HELD || entry.state() == JobState.WAITING) {
        jobs.put(job.id, job);
        dependencies.add(Map.entry(job, entry.dependencies()));
      } else if (entry.state().isOnWorker()) {
        jobs.put(job.id, job);
        limits.take(job.shape);
        leaveUnclaimed(job, now, NOT_RECLAIMED);
      } else {
        throw new IllegalArgumentException(
            "cannot restore job " + entry.jobId() + " in state " + entry.state());
      }
      nextJobId = Math.max(nextJobId, entry.jobId() + 1);
    }

    /** Queues the pending jobs; the scheduler is ready for commands after this. */
    public void finish() {
      for (var run : pending.entrySet()) {
        if (!run.getValue().isEmpty()) {
          queues.computeIfAbsent(run.getKey(), PendingQueue::new).addAll(run.getValue(), jobs);
        }
      }
      pending.clear();
      for (var linked : dependencies) {
        link(linked.getKey(), linked.getValue());
      }
      dependencies.clear();
    }

    /**
     * A parent still active gets the job as its dependent again. A parent that has ended decided
     * its dependency when it ended; were it stored otherwise (its end was stored, not its
     * dependents' fate), the next placement settles the job.
     */
    private void link(Job job, List<RestoredJob.RestoredDependency> stored) {
      String cancel = linkToParents(job, stored);
      if (cancel != null) {
        restoredCancels.put(job, cancel);
      } else if (job.state() == JobState.WAITING && job.unmetDependencies == 0) {
        restoredUnblocks.add(job);
      }
    }
  }

  /** Applies one command at time now; decisions are appended to out. Does not place jobs. */
  public void handle(Command command, Instant now, Decisions out) {
    latest = now;
    switch (command) {
      case null -> {}
      case Command.Submit submit -> submit(submit, now, out);
      case Command.SubmitBatch batch -> submitBatch(batch, now, out);
      case Command.Cancel cancel -> cancel(cancel, now, out);
      case Command.CancelJobs cancel -> cancelJobs(cancel, now, out);
      case Command.UpdateJobs update -> updateJobs(update, now, out);
      case Command.Rerun rerun -> rerun(rerun, now, out);
      case Command.ConnectWorker connect -> connect(connect, now, out);
      case Command.UpdateWorker update -> update(update, now);
      case Command.DisconnectWorker disconnect -> disconnect(disconnect, now);
      case Command.Release release -> release(release, now, out);
      case Command.Decline decline -> decline(decline, now, out);
      case Command.MarkStarted started -> markStarted(started, now, out);
      case Command.MarkEnded ended -> markEnded(ended, now, out);
      case Command.Tick tick -> tick(now, out);
    }
  }

  /**
   * Offers pending jobs to workers that fit them, least busy first, within the global limits.
   * Called once after each batch of commands.
   */
  public void place(Instant now, Decisions out) {
    latest = now;
    queueDueRetries(now);
    if (!restoredCancels.isEmpty() || !restoredUnblocks.isEmpty()) {
      settleRestored(now, out);
    }
    if (workers.isEmpty() || queues.isEmpty() || limits.full()) {
      return;
    }
    Resources roomiest = roomiestFree();
    if (roomiest.slots() == 0) {
      return;
    }
    // Oldest candidate of each shape; nothing is freed during a pass, so a shape that cannot run
    // once in this pass cannot run later in it either and is dropped for good.
    PriorityQueue<Job> candidates = new PriorityQueue<>(PLACEMENT_ORDER);
    for (PendingQueue queue : queues.values()) {
      if (queue.shape().demand().fitsIn(roomiest) && limits.admits(queue.shape())) {
        candidates.add(queue.oldest());
      }
    }
    while (!candidates.isEmpty()) {
      Job job = candidates.poll();
      Resources demand = job.shape.demand();
      if (!demand.fitsIn(roomiest) || !limits.admits(job.shape)) {
        continue;
      }
      boolean needsDevices = job.shape.needsDevices();
      Worker best = null;
      double bestBusyness = 0;
      boolean bestHasFreeDevice = false;
      boolean anyFits = false;
      for (Worker worker : workers.values()) {
        if (!demand.fitsIn(worker.free()) || (needsDevices && worker.assign(job.shape) == null)) {
          continue;
        }
        anyFits = true;
        double busyness = worker.busyness();
        // A job that needs no device goes to a worker whose devices are all taken (or that has
        // none) when it can, so that it does not fill the cores a waiting GPU job needs.
        boolean hasFreeDevice = !needsDevices && worker.hasFreeDevice();
        if (worker.mayTake(job)
            && (best == null
                || (hasFreeDevice == bestHasFreeDevice
                    ? busyness < bestBusyness
                    : bestHasFreeDevice))) {
          best = worker;
          bestBusyness = busyness;
          bestHasFreeDevice = hasFreeDevice;
        }
      }
      if (!anyFits) {
        continue;
      }
      Job next = queues.get(job.shape).after(job.id);
      if (best != null) {
        offer(job, best, now, out);
        roomiest = roomiestFree();
        if (roomiest.slots() == 0 || limits.full()) {
          return;
        }
      } else if (job.declinedByAll(workers.values())) {
        dequeue(job);
        park(job);
      }
      if (next != null) {
        candidates.add(next);
      }
    }
  }

  /** Higher priority first, then the older job. */
  private static final Comparator<Job> PLACEMENT_ORDER =
      Comparator.comparingInt((Job job) -> job.shape.priority())
          .reversed()
          .thenComparingLong(job -> job.id);

  /** The job if it has not ended, with why it is still pending, held or waiting. */
  public Optional<ActiveJobView> activeJob(long jobId) {
    Job job = jobs.get(jobId);
    if (job == null) {
      return Optional.empty();
    }
    String reason =
        switch (job.state()) {
          case PENDING -> pendingReason(job);
          case HELD ->
              job.unmetDependencies > 0
                  ? "held (kueue release " + job.id + "), and " + waitingReason(job)
                  : "held until released (kueue release " + job.id + ")";
          case WAITING -> waitingReason(job);
          default -> null;
        };
    return Optional.of(new ActiveJobView(job.id, job.state(), job.attempt, job.workerId, reason));
  }

  public List<WorkerView> workers() {
    List<WorkerView> views = new ArrayList<>(workers.size());
    for (Worker worker : workers.values()) {
      views.add(
          new WorkerView(
              worker.id,
              worker.name,
              worker.capacity,
              worker.reserved,
              worker.free(),
              worker.jobIds(),
              worker.busyness(),
              worker.connected,
              worker.lastSeen,
              worker.deviceStates()));
    }
    return views;
  }

  public List<ResourceUsage> resources() {
    return limits.usage();
  }

  /** The id the next submitted job will get. */
  public long nextJobId() {
    return nextJobId;
  }

  /** How many jobs have not ended (pending, offered or running). */
  public int activeJobCount() {
    return jobs.size();
  }

  // ---- commands

  private void submit(Command.Submit command, Instant now, Decisions out) {
    String problem = SubmitValidation.problem(command.jobs(), settings);
    for (int i = 0; problem == null && i < command.jobs().size(); i++) {
      problem = dependencyProblem(command.jobs().get(i), command.targets());
    }
    if (problem != null) {
      out.then(new Effect.RequestRejected(command.requestId(), problem));
      return;
    }
    if (command.jobs().stream().anyMatch(spec -> raced(spec, command.targets()))) {
      out.then(new Effect.SubmitRaced(command.requestId()));
      return;
    }
    List<Long> ids = new ArrayList<>(command.jobs().size());
    List<Long> canceled = new ArrayList<>(0);
    for (JobSpec spec : command.jobs()) {
      Job job = new Job(nextJobId++, shapeOf(spec), now);
      allowRetries(job, spec);
      jobs.put(job.id, job);
      out.record(new Event.JobQueued(job.id, spec.forJob(job.id, spec.argv(), null, null), now));
      admit(job, spec, command.targets(), now, out, canceled);
      ids.add(job.id);
    }
    out.then(new Effect.SubmitAccepted(command.requestId(), List.copyOf(ids)));
    if (!canceled.isEmpty()) {
      out.then(new Effect.JobsTerminated(List.copyOf(canceled)));
    }
  }

  /** Why the spec's dependencies cannot be accepted, or null when they can. */
  private static String dependencyProblem(JobSpec spec, DependencyTargets targets) {
    for (Dependency dependency : spec.dependencies()) {
      List<Long> parents = targets.jobsOf().get(dependency.jobId());
      if (parents == null || parents.isEmpty()) {
        return "job "
            + dependency.jobId()
            + " not found: a dependency must name a stored job or batch";
      }
    }
    return null;
  }

  /**
   * Whether a job named by the spec's dependencies ended after it was looked up: the scheduler no
   * longer has it, and the look-up did not see its end.
   */
  private boolean raced(JobSpec spec, DependencyTargets targets) {
    for (Dependency dependency : spec.dependencies()) {
      for (long parent : targets.jobsOf().get(dependency.jobId())) {
        if (!jobs.containsKey(parent) && !targets.ended().containsKey(parent)) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A job just queued (state PENDING, not yet in a queue) goes where its spec and dependencies put
   * it: canceled when a parent already ended in a way that can never meet its dependency, held,
   * waiting for its parents, or into the pending queue.
   */
  private void admit(
      Job job,
      JobSpec spec,
      DependencyTargets targets,
      Instant now,
      Decisions out,
      List<Long> ended) {
    if (!spec.dependencies().isEmpty()) {
      for (Dependency dependency : spec.dependencies()) {
        for (long parent : targets.jobsOf().get(dependency.jobId())) {
          DependencyTargets.ParentEnd end =
              jobs.containsKey(parent) ? null : targets.ended().get(parent);
          if (end != null && !dependency.kind().metBy(end.succeeded())) {
            jobs.remove(job.id);
            job.moveTo(JobState.CANCELED);
            out.record(new Event.JobCanceled(job.id, dependencyFailed(parent, end.how()), now));
            ended.add(job.id);
            return;
          }
        }
      }
      for (Dependency dependency : spec.dependencies()) {
        for (long parent : targets.jobsOf().get(dependency.jobId())) {
          Job active = jobs.get(parent);
          if (active != null) {
            active.addDependent(job, dependency.kind());
            job.unmetDependencies++;
          }
        }
      }
    }
    if (spec.hold()) {
      job.moveTo(JobState.HELD);
      out.record(new Event.JobHeld(job.id, now));
    } else if (job.unmetDependencies > 0) {
      job.moveTo(JobState.WAITING);
      out.record(new Event.JobBlocked(job.id, now));
    } else {
      enqueue(job);
    }
  }

  private void submitBatch(Command.SubmitBatch command, Instant now, Decisions out) {
    String problem = SubmitValidation.batchProblem(command.shared(), command.entries(), settings);
    if (problem == null) {
      problem = dependencyProblem(command.shared(), command.targets());
    }
    if (problem != null) {
      out.then(new Effect.RequestRejected(command.requestId(), problem));
      return;
    }
    if (raced(command.shared(), command.targets())) {
      out.then(new Effect.SubmitRaced(command.requestId()));
      return;
    }
    JobSpec shared = command.shared();
    Shape shape = shapeOf(shared);
    long batch = nextJobId;
    List<Long> ids = new ArrayList<>(command.entries().size());
    List<Long> canceled = new ArrayList<>(0);
    boolean plain = shared.dependencies().isEmpty() && !shared.hold();
    for (BatchEntry entry : command.entries()) {
      Job job = new Job(nextJobId++, shape, now);
      allowRetries(job, shared);
      jobs.put(job.id, job);
      List<String> argv = entry.argv() != null ? entry.argv() : shared.argv();
      out.record(
          new Event.JobQueued(job.id, shared.forJob(job.id, argv, batch, entry.index()), now));
      if (plain) {
        enqueue(job);
      } else {
        admit(job, shared, command.targets(), now, out, canceled);
      }
      ids.add(job.id);
    }
    out.then(new Effect.SubmitAccepted(command.requestId(), List.copyOf(ids)));
    if (!canceled.isEmpty()) {
      out.then(new Effect.JobsTerminated(List.copyOf(canceled)));
    }
  }

  /**
   * A new retry count for a job that has not started; the retries it has had still count. A job
   * waiting out a retry delay keeps its retries object, so that the wait ends as planned.
   */
  private static void allowRetries(Job job, int allowed) {
    if (job.retries != null) {
      job.retries.allowed = allowed;
    } else if (allowed > 0) {
      job.retries = new Job.Retries(allowed, 0, 0);
    }
  }

  private static void allowRetries(Job job, JobSpec spec) {
    if (spec.retriesAllowed() > 0) {
      Long delay = spec.retryDelaySeconds();
      job.retries = new Job.Retries(spec.retriesAllowed(), delay == null ? 0 : delay, 0);
    }
  }

  private void cancel(Command.Cancel command, Instant now, Decisions out) {
    Job job = jobs.get(command.jobId());
    if (job == null) {
      out.then(
          new Effect.RequestRejected(
              command.requestId(), "job " + command.jobId() + " not found or already ended"));
      return;
    }
    if (job.isOnWorker() && !command.kill()) {
      String where =
          job.state() == JobState.RUNNING ? "is running" : "is being offered to a worker";
      out.then(
          new Effect.RequestRejected(
              command.requestId(), "job " + job.id + " " + where + "; use --kill to stop it"));
      return;
    }
    Effect kill = cancelJob(job, now, out);
    if (kill != null) {
      out.then(kill);
    }
    out.then(new Effect.CancelAccepted(command.requestId(), job.id));
    List<Long> ended = new ArrayList<>(List.of(job.id));
    settleDependents(job, false, WAS_CANCELED, now, out, ended);
    out.then(new Effect.JobsTerminated(List.copyOf(ended)));
  }

  private void cancelJobs(Command.CancelJobs command, Instant now, Decisions out) {
    List<Long> canceled = new ArrayList<>();
    List<Long> left = new ArrayList<>();
    List<Effect> kills = new ArrayList<>();
    canceledJobs.clear();
    for (Long id : command.jobIds() == null ? List.<Long>of() : command.jobIds()) {
      Job job = id == null ? null : jobs.get(id);
      if (job == null) {
        continue;
      }
      canceledJobs.put(job.id, job);
      if (job.isOnWorker() && !command.kill()) {
        left.add(job.id);
        continue;
      }
      Effect kill = cancelJob(job, now, out);
      if (kill != null) {
        kills.add(kill);
      }
      canceled.add(job.id);
    }
    kills.forEach(out::then);
    out.then(
        new Effect.CancelJobsAnswered(
            command.requestId(), List.copyOf(canceled), List.copyOf(left)));
    List<Long> ended = new ArrayList<>(canceled);
    for (Long id : canceled) {
      // A job of the list canceled as a dependent of an earlier one is already settled.
      settleDependents(canceledJobs.get(id), false, WAS_CANCELED, now, out, ended);
    }
    canceledJobs.clear();
    if (!ended.isEmpty()) {
      out.then(new Effect.JobsTerminated(List.copyOf(ended)));
    }
  }

  /**
   * Cancels a pending job, or one on a worker when the caller allows killing it. Returns the kill
   * to send to its worker, or null.
   */
  private Effect cancelJob(Job job, Instant now, Decisions out) {
    Effect kill = null;
    if (job.state() == JobState.PENDING) {
      dequeue(job);
    } else if (job.isOnWorker()) {
      Worker holder = holderOf(job);
      if (holder != null) {
        // The process is still dying: its worker and global resources stay taken until the worker
        // reports this attempt ended or goes away.
        holder.keepWhileDying(job, now);
        kill = new Effect.SendKill(holder.id, job.id, job.attempt, CANCELED_BY_USER);
      } else {
        unclaimed.remove(job.id);
        limits.release(job.shape);
      }
    }
    jobs.remove(job.id);
    job.moveTo(JobState.CANCELED);
    out.record(new Event.JobCanceled(job.id, CANCELED_BY_USER, now));
    return kill;
  }

  private void connect(Command.ConnectWorker command, Instant now, Decisions out) {
    WorkerCapacity capacity = command.capacity() == null ? NO_CAPACITY : command.capacity();
    String name = command.name() == null ? "worker-" + command.workerId() : command.name();
    Worker worker = workers.get(command.workerId());
    if (worker == null) {
      worker = new Worker(command.workerId(), name, capacity, now);
      worker.session = nextWorkerSession++;
      workers.put(worker.id, worker);
      unparkAll();
    } else {
      worker.name = name;
      worker.lastSeen = now;
      worker.reported(capacity);
    }
    if (command.running() == null) {
      return;
    }
    for (AttemptRef running : command.running()) {
      if (running == null) {
        continue;
      }
      Job job = jobs.get(running.jobId());
      if (job != null && job.isOnWorker() && job.attempt == running.attempt()) {
        claim(job, worker, now, out);
      } else if (!takeOverDying(running, worker, out)) {
        out.then(new Effect.SendKill(worker.id, running.jobId(), running.attempt(), SUPERSEDED));
      }
    }
  }

  private void update(Command.UpdateWorker command, Instant now) {
    Worker worker = workers.get(command.workerId());
    if (worker == null) {
      return;
    }
    worker.reported(command.capacity() == null ? worker.capacity : command.capacity());
    worker.lastSeen = now;
  }

  /**
   * A closed connection is not a lost job: the worker keeps running its jobs and reconnects, so its
   * attempts wait (with their resources) for it to claim them again. Only when it has not come back
   * within the worker timeout are they lost; by then a worker cut off from the server has killed
   * them itself (it does so after half the timeout without contact).
   */
  private void disconnect(Command.DisconnectWorker command, Instant now) {
    Worker worker = workers.remove(command.workerId());
    if (worker == null) {
      return;
    }
    String why =
        command.reason() == null || command.reason().isBlank() ? "" : " (" + command.reason() + ")";
    String reason =
        "worker "
            + worker.name
            + " disconnected"
            + why
            + " and did not come back within "
            + text(settings.workerTimeout());
    for (Job job : List.copyOf(worker.held.values())) {
      worker.release(job);
      leaveUnclaimed(job, now, reason);
    }
    worker.dying.values().forEach(killed -> limits.release(killed.shape()));
    worker.dying.clear();
  }

  private void release(Command.Release command, Instant now, Decisions out) {
    Worker worker = workers.get(command.workerId());
    if (worker == null) {
      return;
    }
    worker.lastSeen = now;
    Job job = jobs.get(command.jobId());
    boolean current =
        job != null
            && job.isOnWorker()
            && job.attempt == command.attempt()
            && (job.workerId == worker.id || unclaimed.containsKey(job.id));
    if (!current) {
      releaseDying(new AttemptRef(command.jobId(), command.attempt()), worker);
      return;
    }
    detach(job);
    limits.release(job.shape);
    worker.stopping = true;
    String why =
        command.reason() == null || command.reason().isBlank() ? "stopping" : command.reason();
    out.record(
        new Event.JobRequeued(
            job.id, job.attempt, "worker " + worker.name + " released it: " + why, now));
    job.moveTo(JobState.PENDING);
    enqueue(job);
  }

  private void decline(Command.Decline command, Instant now, Decisions out) {
    Worker worker = workers.get(command.workerId());
    if (worker == null) {
      return;
    }
    worker.lastSeen = now;
    Job job = jobs.get(command.jobId());
    boolean current =
        job != null
            && job.state() == JobState.OFFERED
            && job.attempt == command.attempt()
            && (job.workerId == worker.id || unclaimed.containsKey(job.id));
    if (!current) {
      releaseDying(new AttemptRef(command.jobId(), command.attempt()), worker);
      return;
    }
    detach(job);
    limits.release(job.shape);
    String reason =
        command.reason() == null || command.reason().isBlank()
            ? "no reason given"
            : command.reason();
    out.record(new Event.JobDeclined(job.id, job.attempt, worker.name, reason, now));
    if (command.permanent()) {
      job.declineForever(worker.session, worker.name + ": " + reason);
    } else {
      worker.deferred.add(job.id);
    }
    job.moveTo(JobState.PENDING);
    enqueue(job);
  }

  /**
   * Whether {@code attempt} of {@code job} is the current one and {@code worker} may speak for it:
   * it was offered to that worker, or it was restored after a restart and nobody has claimed it
   * yet. Another worker's word about it, even with the secret, changes nothing.
   */
  private boolean isHeldBy(Job job, int attempt, Worker worker) {
    return job != null
        && job.isOnWorker()
        && job.attempt == attempt
        && (job.workerId == worker.id || unclaimed.containsKey(job.id));
  }

  private void markStarted(Command.MarkStarted command, Instant now, Decisions out) {
    Worker worker = workers.get(command.workerId());
    if (worker == null) {
      return;
    }
    worker.lastSeen = now;
    Job job = jobs.get(command.jobId());
    if (isHeldBy(job, command.attempt(), worker)) {
      claim(job, worker, command.at() == null ? now : command.at(), out);
      return;
    }
    AttemptRef attempt = new AttemptRef(command.jobId(), command.attempt());
    if (worker.dying.containsKey(attempt)) {
      worker.dyingAttemptStarted(attempt);
    } else {
      // Someone else owns the job now (or nobody does): this process must not run on.
      out.then(new Effect.SendKill(worker.id, command.jobId(), command.attempt(), SUPERSEDED));
    }
  }

  private void markEnded(Command.MarkEnded command, Instant now, Decisions out) {
    Worker worker = workers.get(command.workerId());
    if (worker != null) {
      worker.lastSeen = now;
    }
    Job job = jobs.get(command.jobId());
    if (worker != null && isHeldBy(job, command.attempt(), worker)) {
      detach(job);
      limits.release(job.shape);
      JobOutcome outcome = command.outcome();
      if (outcome != null && outcome.timedOut()) {
        jobs.remove(job.id);
        job.moveTo(JobState.TIMED_OUT);
        out.record(
            new Event.JobTimedOut(
                job.id, job.attempt, outcome, command.stdout(), command.stderr(), now));
        terminatedWithDependents(job, false, TIMED_OUT, now, out);
      } else if (job.retries != null
          && job.retries.left()
          && (outcome == null || !outcome.succeeded())) {
        retry(job, command, now, out);
      } else {
        jobs.remove(job.id);
        job.moveTo(JobState.FINISHED);
        out.record(
            new Event.JobEnded(
                job.id, job.attempt, outcome, command.stdout(), command.stderr(), now));
        Integer exit = outcome == null ? null : outcome.exitCode();
        boolean succeeded = exit != null && exit == 0;
        terminatedWithDependents(job, succeeded, succeeded ? SUCCEEDED : FAILED, now, out);
      }
    } else {
      releaseDying(new AttemptRef(command.jobId(), command.attempt()), worker);
    }
    out.then(new Effect.ConfirmResult(command.workerId(), command.jobId(), command.attempt()));
  }

  /**
   * An attempt that did not succeed, of a job with retries left: the job queues again, at once or
   * after its retry delay. Lost attempts do not come here; they count toward the maximum attempts.
   */
  private void retry(Job job, Command.MarkEnded ended, Instant now, Decisions out) {
    Job.Retries retries = job.retries;
    retries.used++;
    Instant notBefore = retries.delaySeconds > 0 ? now.plusSeconds(retries.delaySeconds) : null;
    out.record(
        new Event.JobRetried(
            job.id,
            job.attempt,
            ended.outcome(),
            ended.stdout(),
            ended.stderr(),
            retries.used,
            retries.allowed,
            notBefore,
            now));
    job.moveTo(JobState.PENDING);
    if (notBefore == null) {
      enqueue(job);
    } else {
      job.workerId = Job.NO_WORKER;
      job.offeredAt = null;
      job.claimDeadline = null;
      job.lossReason = null;
      delay(job, notBefore);
    }
  }

  private void tick(Instant now, Decisions out) {
    for (Worker worker : List.copyOf(workers.values())) {
      if (worker.lastSeen.plus(settings.workerTimeout()).isBefore(now)) {
        String reason =
            "worker " + worker.name + " silent for more than " + text(settings.workerTimeout());
        loseWorker(worker, reason, now, out);
        out.then(new Effect.CloseWorker(worker.id, reason));
      }
    }
    List<Long> failed = new ArrayList<>();
    String offerReason = "offer not answered in " + text(settings.offerTimeout());
    for (Worker worker : workers.values()) {
      for (Job job : List.copyOf(worker.held.values())) {
        if (job.state() == JobState.OFFERED
            && job.offeredAt.plus(settings.offerTimeout()).isBefore(now)) {
          worker.release(job);
          requeue(job, offerReason, now, out, failed);
        }
      }
    }
    Instant killCutoff = now.minus(settings.offerTimeout());
    for (Worker worker : workers.values()) {
      worker
          .releaseUnstartedKilledBefore(killCutoff)
          .forEach(killed -> limits.release(killed.shape()));
    }
    for (Job job : List.copyOf(unclaimed.values())) {
      if (!now.isBefore(job.claimDeadline)) {
        unclaimed.remove(job.id);
        requeue(job, job.lossReason, now, out, failed);
      }
    }
    failDeclinedTooLong(now, out, failed);
    if (!failed.isEmpty()) {
      out.then(new Effect.JobsTerminated(List.copyOf(failed)));
    }
    long minute = Math.floorDiv(now.getEpochSecond(), 60);
    if (minute > lastExpiryMinute) {
      lastExpiryMinute = minute;
      out.record(new Event.FinishedJobsExpired(now.minus(settings.cleanupAfter())));
    }
  }

  /**
   * Jobs every connected worker has declined for good, for the whole {@code declinedTimeout}, fail
   * with the declines as the reason. The time counts from when the job was parked and starts again
   * when a worker connects (it may take the job).
   */
  private void failDeclinedTooLong(Instant now, Decisions out, List<Long> failed) {
    Duration timeout = settings.declinedTimeout();
    if (parked.isEmpty() || timeout == null || timeout.isZero()) {
      return;
    }
    for (Job job : List.copyOf(parked.values())) {
      if (job.parkedSince != null
          && !now.isBefore(job.parkedSince.plus(timeout))
          && job.declinedByAll(workers.values())) {
        String reason =
            "declined by every connected worker for "
                + minutes(timeout)
                + ": "
                + declinesText(declinesOf(job));
        dequeue(job);
        jobs.remove(job.id);
        job.moveTo(JobState.FINISHED);
        out.record(new Event.JobFailed(job.id, reason, now));
        failed.add(job.id);
        settleDependents(job, false, FAILED, now, out, failed);
      }
    }
  }

  /** Each connected worker's permanent decline of the job ("vm1: no such directory"). */
  private List<String> declinesOf(Job job) {
    List<String> declines = new ArrayList<>();
    for (Worker worker : workers.values()) {
      String decline = job.permanentDecline(worker.session);
      if (decline != null) {
        declines.add(decline);
      }
    }
    return declines;
  }

  private void updateJobs(Command.UpdateJobs command, Instant now, Decisions out) {
    JobUpdate update = command.update();
    List<Long> updated = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (Long id : command.jobIds() == null ? List.<Long>of() : command.jobIds()) {
      Job job = id == null ? null : jobs.get(id);
      String problem = job == null ? "job " + id + " not found or already ended" : null;
      if (problem == null && update.problem() != null) {
        problem = "job " + id + " not changed: " + update.problem();
      }
      if (problem == null && job.isOnWorker()) {
        problem = "job " + id + " has started";
      }
      if (problem == null && Boolean.FALSE.equals(update.hold()) && job.state() != JobState.HELD) {
        problem = "job " + id + " is not held";
      }
      if (problem != null) {
        skipped.add(problem);
        continue;
      }
      if (update.timeLimitSeconds() != null || update.retries() != null) {
        if (update.retries() != null) {
          allowRetries(job, update.retries());
        }
        out.record(
            new Event.JobUpdated(job.id, null, update.timeLimitSeconds(), update.retries(), now));
      }
      if (update.priority() != null && update.priority() != job.shape.priority()) {
        boolean queued = job.state() == JobState.PENDING;
        if (queued) {
          dequeue(job);
        }
        job.shape = withPriority(job.shape, update.priority());
        if (queued) {
          enqueue(job);
        }
        out.record(new Event.JobUpdated(job.id, update.priority(), now));
      }
      if (Boolean.TRUE.equals(update.hold()) && job.state() != JobState.HELD) {
        if (job.state() == JobState.PENDING) {
          dequeue(job);
        }
        job.moveTo(JobState.HELD);
        out.record(new Event.JobHeld(job.id, now));
      } else if (Boolean.FALSE.equals(update.hold())) {
        if (job.unmetDependencies > 0) {
          job.moveTo(JobState.WAITING);
          out.record(new Event.JobBlocked(job.id, now));
        } else {
          job.moveTo(JobState.PENDING);
          out.record(new Event.JobReleased(job.id, now));
          enqueue(job);
        }
      }
      updated.add(job.id);
    }
    out.then(
        new Effect.JobsUpdated(command.requestId(), List.copyOf(updated), List.copyOf(skipped)));
  }

  static final String REQUEUED_BY_USER = "by user";

  private void rerun(Command.Rerun command, Instant now, Decisions out) {
    Set<Long> coming = new java.util.HashSet<>();
    for (RestoredJob entry : command.jobs()) {
      if (jobs.containsKey(entry.jobId())) {
        continue;
      }
      if (!entry.state().isTerminal()) {
        // It ended after the look-up: its stored state is out of date.
        out.then(new Effect.SubmitRaced(command.requestId()));
        return;
      }
      coming.add(entry.jobId());
    }
    for (RestoredJob entry : command.jobs()) {
      for (RestoredJob.RestoredDependency dependency : entry.dependencies()) {
        boolean endedAsStored =
            dependency.parentState() == null || dependency.parentState().isTerminal();
        if (!endedAsStored
            && !jobs.containsKey(dependency.parentId())
            && !coming.contains(dependency.parentId())) {
          out.then(new Effect.SubmitRaced(command.requestId()));
          return;
        }
      }
    }
    List<Long> requeued = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    List<Map.Entry<Job, RestoredJob>> revived = new ArrayList<>();
    for (RestoredJob entry : command.jobs()) {
      if (!coming.contains(entry.jobId())) {
        if (command.asked().contains(entry.jobId())) {
          skipped.add("job " + entry.jobId() + " has not ended");
        }
        continue;
      }
      Shape shape =
          shapeOf(
              entry.demand(),
              entry.globalResources(),
              entry.workerResources(),
              entry.gpuRamMb(),
              entry.priority());
      Job job = Job.ended(entry.jobId(), shape, entry.submitted(), entry.state());
      job.attempt = entry.attempt();
      if (entry.retries() > 0) {
        job.retries = new Job.Retries(entry.retries(), entry.retryDelaySeconds(), 0);
      }
      jobs.put(job.id, job);
      job.moveTo(JobState.PENDING);
      out.record(
          new Event.JobRerun(
              job.id,
              command.asked().contains(job.id) ? REQUEUED_BY_USER : withParent(entry, coming),
              now));
      revived.add(Map.entry(job, entry));
      requeued.add(job.id);
    }
    List<Long> ended = new ArrayList<>();
    for (var pair : revived) {
      Job job = pair.getKey();
      if (job.state().isTerminal()) {
        continue; // canceled again as the dependent of one canceled below
      }
      String cancel = linkToParents(job, pair.getValue().dependencies());
      if (cancel != null) {
        cancelDependent(job, cancel, now, out);
        ended.add(job.id);
        settleDependents(job, false, WAS_CANCELED, now, out, ended);
      }
    }
    for (var pair : revived) {
      Job job = pair.getKey();
      if (job.state() != JobState.PENDING) {
        continue;
      }
      if (job.unmetDependencies > 0) {
        job.moveTo(JobState.WAITING);
        out.record(new Event.JobBlocked(job.id, now));
      } else {
        enqueue(job);
      }
    }
    // A job canceled again at once (another of its dependencies failed) is not requeued: say why.
    for (Event event : out.events()) {
      if (event instanceof Event.JobCanceled canceled && requeued.remove(canceled.jobId())) {
        skipped.add("job " + canceled.jobId() + " was canceled again: " + canceled.reason());
      }
    }
    out.then(
        new Effect.JobsUpdated(command.requestId(), List.copyOf(requeued), List.copyOf(skipped)));
    if (!ended.isEmpty()) {
      out.then(new Effect.JobsTerminated(ended));
    }
  }

  /**
   * Makes the job a dependent of each of its parents still active, counting them as unmet; a parent
   * that has ended decided its dependency then.
   *
   * @return why the job must be canceled (a dependency an ended parent can no longer meet), or null
   */
  private String linkToParents(Job job, List<RestoredJob.RestoredDependency> stored) {
    String cancel = null;
    for (RestoredJob.RestoredDependency dependency : stored) {
      Job parent = jobs.get(dependency.parentId());
      if (parent != null) {
        parent.addDependent(job, dependency.kind());
        job.unmetDependencies++;
      } else if (cancel == null && dependency.parentState() != null) {
        boolean succeeded =
            dependency.parentState().category(dependency.parentExitCode())
                == kueue.model.JobFilter.SUCCEEDED;
        if (!dependency.kind().metBy(succeeded)) {
          cancel = dependencyFailed(dependency.parentId(), howItEnded(dependency, succeeded));
        }
      }
    }
    return cancel;
  }

  private static String howItEnded(RestoredJob.RestoredDependency parent, boolean succeeded) {
    if (succeeded) {
      return SUCCEEDED;
    }
    return switch (parent.parentState()) {
      case CANCELED -> WAS_CANCELED;
      case TIMED_OUT -> TIMED_OUT;
      default -> FAILED;
    };
  }

  /** "with job 12, which it depends on": why a dependent comes back with a requeued job. */
  private static String withParent(RestoredJob entry, Set<Long> coming) {
    for (RestoredJob.RestoredDependency dependency : entry.dependencies()) {
      if (coming.contains(dependency.parentId())) {
        return "with job " + dependency.parentId() + ", which it depends on";
      }
    }
    return "with a job it depends on";
  }

  // ---- dependencies

  /** The job has ended: its waiters wake, and its dependents learn how it ended. */
  private void terminatedWithDependents(
      Job job, boolean succeeded, String how, Instant now, Decisions out) {
    if (job.dependents == null) {
      out.then(new Effect.JobsTerminated(List.of(job.id)));
      return;
    }
    List<Long> ended = new ArrayList<>(List.of(job.id));
    settleDependents(job, succeeded, how, now, out, ended);
    out.then(new Effect.JobsTerminated(ended));
  }

  /**
   * The job has just ended (its event is recorded): each dependent whose dependency it met counts
   * one fewer unmet, and is placed when none is left; each one whose dependency it can never meet
   * is canceled, and so on down the chain. A work list rather than recursion, so that a chain of
   * any length is settled in one pass.
   *
   * @param ended receives the ids of the jobs canceled here
   */
  private void settleDependents(
      Job job, boolean succeeded, String how, Instant now, Decisions out, List<Long> ended) {
    if (job == null || job.dependents == null) {
      return;
    }
    java.util.ArrayDeque<Job> canceled = new java.util.ArrayDeque<>();
    settleDependentsOf(job, succeeded, how, now, out, canceled);
    while (!canceled.isEmpty()) {
      Job child = canceled.poll();
      ended.add(child.id);
      settleDependentsOf(child, false, WAS_CANCELED, now, out, canceled);
    }
  }

  private void settleDependentsOf(
      Job parent,
      boolean succeeded,
      String how,
      Instant now,
      Decisions out,
      java.util.ArrayDeque<Job> canceled) {
    List<Job.Dependent> dependents = parent.dependents;
    parent.dependents = null;
    if (dependents == null) {
      return;
    }
    for (Job.Dependent dependent : dependents) {
      Job child = dependent.child();
      if (child.state().isTerminal()) {
        continue;
      }
      if (dependent.kind().metBy(succeeded)) {
        child.unmetDependencies--;
        if (child.unmetDependencies == 0 && child.state() == JobState.WAITING) {
          child.moveTo(JobState.PENDING);
          out.record(new Event.JobUnblocked(child.id, now));
          enqueue(child);
        }
      } else {
        cancelDependent(child, dependencyFailed(parent.id, how), now, out);
        canceled.add(child);
      }
    }
  }

  /** Cancels a held or waiting job whose dependency can no longer be met. */
  private void cancelDependent(Job child, String reason, Instant now, Decisions out) {
    jobs.remove(child.id);
    child.moveTo(JobState.CANCELED);
    out.record(new Event.JobCanceled(child.id, reason, now));
  }

  static String dependencyFailed(long parent, String how) {
    return "dependency on job " + parent + " failed" + (how.equals(FAILED) ? "" : ": it " + how);
  }

  /** Carries out what the restore found decided (see {@link Restoration}). */
  private void settleRestored(Instant now, Decisions out) {
    List<Long> ended = new ArrayList<>();
    for (var entry : restoredCancels.entrySet()) {
      Job job = entry.getKey();
      if (!job.state().isTerminal()) {
        cancelDependent(job, entry.getValue(), now, out);
        ended.add(job.id);
        settleDependents(job, false, WAS_CANCELED, now, out, ended);
      }
    }
    restoredCancels.clear();
    for (Job job : restoredUnblocks) {
      if (job.state() == JobState.WAITING && job.unmetDependencies == 0) {
        job.moveTo(JobState.PENDING);
        out.record(new Event.JobUnblocked(job.id, now));
        enqueue(job);
      }
    }
    restoredUnblocks.clear();
    if (!ended.isEmpty()) {
      out.then(new Effect.JobsTerminated(ended));
    }
  }

  private static String waitingReason(Job job) {
    int unmet = job.unmetDependencies;
    return unmet
        + (unmet == 1 ? " dependency" : " dependencies")
        + " not met yet (show-job "
        + job.id
        + " lists them)";
  }

  // ---- transitions shared by several commands

  private void offer(Job job, Worker worker, Instant now, Decisions out) {
    dequeue(job);
    job.attempt++;
    job.moveTo(JobState.OFFERED);
    job.offeredAt = now;
    job.devices = job.shape.needsDevices() ? worker.assign(job.shape) : Map.of();
    worker.holdOffered(job);
    limits.take(job.shape);
    out.record(new Event.JobOffered(job.id, job.attempt, worker.id, worker.name, now, job.devices));
    out.then(new Effect.SendOffer(worker.id, job.id, job.attempt, job.devices));
  }

  /**
   * The worker reports the current attempt as its own. Only the worker that received the offer of
   * this attempt can know its number, so it may take the job over from a restored job or from an
   * older connection of itself that the server has not noticed is gone.
   */
  private void claim(Job job, Worker worker, Instant startedAt, Decisions out) {
    if (job.workerId != worker.id) {
      detach(job);
      worker.hold(job);
    }
    if (job.state() == JobState.OFFERED) {
      job.moveTo(JobState.RUNNING);
      out.record(new Event.JobStarted(job.id, job.attempt, startedAt));
    }
  }

  /** Until a worker claims the attempt or the worker timeout passes; resources stay taken. */
  private void leaveUnclaimed(Job job, Instant now, String reason) {
    job.workerId = Job.NO_WORKER;
    job.claimDeadline = now.plus(settings.workerTimeout());
    job.lossReason = reason;
    unclaimed.put(job.id, job);
  }

  /** The attempt is lost: the job goes back to pending, or fails when it was lost too often. */
  private void requeue(Job job, String reason, Instant now, Decisions out, List<Long> failed) {
    limits.release(job.shape);
    job.losses++;
    if (settings.maxAttempts() > 0 && job.losses >= settings.maxAttempts()) {
      jobs.remove(job.id);
      job.moveTo(JobState.FINISHED);
      String times = job.losses == 1 ? " time" : " times";
      out.record(
          new Event.JobFailed(job.id, "lost " + job.losses + times + "; last: " + reason, now));
      failed.add(job.id);
      settleDependents(job, false, FAILED, now, out, failed);
    } else {
      out.record(new Event.JobRequeued(job.id, job.attempt, reason, now));
      job.moveTo(JobState.PENDING);
      enqueue(job);
    }
  }

  /**
   * A worker silent for the whole worker timeout: its jobs are lost now. A worker that cannot reach
   * the server has killed them itself after half that time.
   */
  private void loseWorker(Worker worker, String reason, Instant now, Decisions out) {
    workers.remove(worker.id);
    List<Long> failed = new ArrayList<>();
    for (Job job : List.copyOf(worker.held.values())) {
      worker.release(job);
      requeue(job, reason, now, out, failed);
    }
    worker.dying.values().forEach(killed -> limits.release(killed.shape()));
    worker.dying.clear();
    if (!failed.isEmpty()) {
      out.then(new Effect.JobsTerminated(List.copyOf(failed)));
    }
  }

  /** A reconnecting worker still runs an attempt that was killed on an older connection. */
  private boolean takeOverDying(AttemptRef attempt, Worker worker, Decisions out) {
    if (worker.dying.containsKey(attempt)) {
      return true;
    }
    for (Worker other : workers.values()) {
      Worker.KilledAttempt killed = other.releaseDying(attempt);
      if (killed != null) {
        worker.adoptDying(attempt, killed);
        out.then(
            new Effect.SendKill(worker.id, attempt.jobId(), attempt.attempt(), CANCELED_BY_USER));
        return true;
      }
    }
    return false;
  }

  /** A killed attempt is gone: its resources are free again, wherever they were kept. */
  private void releaseDying(AttemptRef attempt, Worker reporter) {
    Worker.KilledAttempt killed = reporter == null ? null : reporter.releaseDying(attempt);
    if (killed == null) {
      for (Worker other : workers.values()) {
        killed = other.releaseDying(attempt);
        if (killed != null) {
          break;
        }
      }
    }
    if (killed != null) {
      limits.release(killed.shape());
    }
  }

  private void detach(Job job) {
    Worker holder = holderOf(job);
    if (holder != null) {
      holder.release(job);
    } else {
      unclaimed.remove(job.id);
    }
  }

  private Worker holderOf(Job job) {
    return job.workerId == Job.NO_WORKER ? null : workers.get(job.workerId);
  }

  // ---- pending queues

  /** Queues a pending job: a new one, or one just moved back from a worker. */
  private void enqueue(Job job) {
    job.workerId = Job.NO_WORKER;
    job.offeredAt = null;
    job.devices = Map.of();
    job.claimDeadline = null;
    job.lossReason = null;
    if (job.declinedByAll(workers.values())) {
      park(job);
    } else {
      queues.computeIfAbsent(job.shape, PendingQueue::new).add(job);
    }
  }

  /** Only for a job with retries. */
  private void delay(Job job, Instant notBefore) {
    job.retries.notBefore = notBefore;
    delayed.add(job);
  }

  /** Retries whose delay is over join the shape queues. */
  private void queueDueRetries(Instant now) {
    while (!delayed.isEmpty() && !now.isBefore(delayed.peek().notBefore())) {
      Job job = delayed.poll();
      job.retries.notBefore = null;
      enqueue(job);
    }
  }

  private void dequeue(Job job) {
    if (job.notBefore() != null) {
      delayed.remove(job);
      job.retries.notBefore = null;
      return;
    }
    if (job.parked) {
      parked.remove(job.id);
      job.parked = false;
      job.parkedSince = null;
      return;
    }
    PendingQueue queue = queues.get(job.shape);
    if (queue != null) {
      queue.remove(job);
      if (queue.isEmpty()) {
        queues.remove(job.shape);
      }
    }
  }

  private void park(Job job) {
    job.parked = true;
    job.parkedSince = latest;
    parked.put(job.id, job);
  }

  private void unparkAll() {
    for (Job job : parked.values()) {
      job.parked = false;
      job.parkedSince = null;
      queues.computeIfAbsent(job.shape, PendingQueue::new).add(job);
    }
    parked.clear();
  }

  private Shape shapeOf(JobSpec spec) {
    return shapeOf(
        spec.demand(),
        spec.globalResources(),
        spec.workerResources(),
        spec.gpuRamMb(),
        spec.priority());
  }

  private Shape withPriority(Shape shape, int priority) {
    Shape changed =
        new Shape(
            shape.demand(),
            shape.globalResources(),
            shape.workerResources(),
            shape.gpuRamMb(),
            priority);
    PendingQueue queue = queues.get(changed);
    return queue == null ? changed : queue.shape();
  }

  /** Equal shapes share one instance, so a million jobs of one shape cost one shape. */
  private Shape shapeOf(
      Resources demand,
      Map<String, Integer> globalResources,
      Map<String, Double> workerResources,
      long gpuRamMb,
      int priority) {
    Map<String, Integer> devices = Map.of();
    if (!workerResources.isEmpty()) {
      devices = new HashMap<>();
      for (Map.Entry<String, Double> ask : workerResources.entrySet()) {
        devices.put(ask.getKey(), WorkerResources.thousandths(ask.getValue()));
      }
    }
    Shape shape =
        new Shape(
            demand,
            globalResources == null ? Map.of() : globalResources,
            devices,
            gpuRamMb,
            priority);
    PendingQueue queue = queues.get(shape);
    return queue == null ? shape : queue.shape();
  }

  /** The most of each resource any single worker has free: a quick bound before the full check. */
  private Resources roomiestFree() {
    int slots = 0;
    int cpus = 0;
    long ramMb = 0;
    for (Worker worker : workers.values()) {
      Resources free = worker.free();
      slots = Math.max(slots, free.slots());
      cpus = Math.max(cpus, free.cpus());
      ramMb = Math.max(ramMb, free.ramMb());
    }
    return new Resources(slots, cpus, ramMb);
  }

  // ---- explanations

  private String pendingReason(Job job) {
    if (job.notBefore() != null) {
      return "retry "
          + job.retries.used
          + " of "
          + job.retries.allowed
          + " waits until "
          + job.notBefore().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    }
    if (workers.isEmpty()) {
      return "no worker connected";
    }
    String limit = limits.blockingReason(job.shape);
    if (limit != null) {
      return limit;
    }
    List<Worker> willing = new ArrayList<>();
    for (Worker worker : workers.values()) {
      if (!job.declinedForever(worker.session)) {
        willing.add(worker);
      }
    }
    if (willing.isEmpty()) {
      Duration timeout = settings.declinedTimeout();
      String failsAt =
          timeout == null || timeout.isZero() || job.parkedSince == null
              ? ""
              : " (fails at "
                  + job.parkedSince.plus(timeout).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                  + " unless a worker that joins takes it)";
      return DECLINED_BY_ALL + declinesText(declinesOf(job)) + failsAt;
    }
    Resources demand = job.shape.demand();
    String tooLarge = tooLarge(demand, willing);
    if (tooLarge != null) {
      return tooLarge;
    }
    if (job.shape.needsDevices()) {
      String shortage = deviceShortage(job.shape, willing);
      if (shortage != null) {
        return shortage;
      }
    }
    List<String> shortages = new ArrayList<>();
    for (Worker worker : willing) {
      if (worker.mayTake(job) && demand.fitsIn(worker.free())) {
        return ABOUT_TO_BE_OFFERED;
      }
      String shortage = worker.resourceShortage(demand);
      if (shortage != null) {
        shortages.add(shortage);
      }
    }
    if (shortages.isEmpty()) {
      return "waiting for free resources on a worker";
    }
    int shown = Math.min(3, shortages.size());
    String more =
        shortages.size() > shown ? "; and " + (shortages.size() - shown) + " more workers" : "";
    return "waiting for free resources on a worker: "
        + String.join("; ", shortages.subList(0, shown))
        + more;
  }

  /** The reason of a job that the next placement pass offers: it holds only until then. */
  public static final String ABOUT_TO_BE_OFFERED = "about to be offered to a worker";

  /** How the reason of a job that every connected worker declined for good begins. */
  public static final String DECLINED_BY_ALL = "declined by every connected worker: ";

  /** The first few declines, sorted so that the text stays the same while they do. */
  private static String declinesText(List<String> declines) {
    declines.sort(null);
    int shown = Math.min(5, declines.size());
    String more = declines.size() > shown ? "; and " + (declines.size() - shown) + " more" : "";
    return String.join("; ", declines.subList(0, shown)) + more;
  }

  /**
   * Why no willing worker has the devices the job needs, e.g. "needs 2 free GPUs; ralab04 has 1
   * free of 4, GPU 1 is used by another user: alice, pid 4711"; null when one has them.
   */
  private static String deviceShortage(Shape shape, List<Worker> candidates) {
    List<String> shortages = new ArrayList<>();
    for (Worker worker : candidates) {
      String shortage = worker.deviceShortage(shape);
      if (shortage == null) {
        return null;
      }
      shortages.add(shortage);
    }
    List<String> needs = new ArrayList<>();
    for (Map.Entry<String, Integer> ask : new TreeMap<>(shape.workerResources()).entrySet()) {
      String word = WorkerResources.deviceWord(ask.getKey());
      int amount = ask.getValue();
      if (amount < WorkerResources.WHOLE) {
        needs.add(
            WorkerResources.format(amount / (double) WorkerResources.WHOLE) + " of a " + word);
      } else {
        int count = amount / WorkerResources.WHOLE;
        needs.add(count + " free " + word + (count == 1 || !word.equals("GPU") ? "" : "s"));
      }
    }
    String memory = shape.gpuRamMb() > 0 ? " with at least " + shape.gpuRamMb() + " MiB free" : "";
    int shown = Math.min(3, shortages.size());
    String more =
        shortages.size() > shown ? "; and " + (shortages.size() - shown) + " more workers" : "";
    return "needs "
        + String.join(" and ", needs)
        + memory
        + "; "
        + String.join("; ", shortages.subList(0, shown))
        + more;
  }

  private static String tooLarge(Resources demand, List<Worker> candidates) {
    int slots = 0;
    int cpus = 0;
    long ramMb = 0;
    for (Worker worker : candidates) {
      Resources total = worker.capacity.total();
      if (demand.fitsIn(total)) {
        return null;
      }
      slots = Math.max(slots, total.slots());
      cpus = Math.max(cpus, total.cpus());
      ramMb = Math.max(ramMb, total.ramMb());
    }
    String needs;
    if (demand.slots() > slots) {
      needs = count(demand.slots(), "job slot") + "; largest has " + slots;
    } else if (demand.cpus() > cpus) {
      needs = count(demand.cpus(), "CPU") + "; largest has " + cpus;
    } else if (demand.ramMb() > ramMb) {
      needs = demand.ramMb() + " MB RAM; largest has " + ramMb + " MB";
    } else {
      needs =
          count(demand.slots(), "job slot")
              + ", "
              + count(demand.cpus(), "CPU")
              + " and "
              + demand.ramMb()
              + " MB RAM on one machine";
    }
    return "no connected worker is large enough (needs " + needs + ")";
  }

  private static String count(long amount, String unit) {
    return amount + " " + unit + (amount == 1 ? "" : "s");
  }

  /** "60 min" for whole minutes, else as {@link #text}. */
  private static String minutes(Duration duration) {
    return duration.toSeconds() % 60 == 0 ? duration.toMinutes() + " min" : text(duration);
  }

  private static String text(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + "s"
        : duration.toMillis() + "ms";
  }
}
