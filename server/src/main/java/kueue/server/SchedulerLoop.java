package kueue.server;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.LongFunction;
import kueue.core.Command;
import kueue.core.Decisions;
import kueue.core.Effect;
import kueue.core.Event;
import kueue.core.Scheduler;
import kueue.model.AttemptRef;
import kueue.model.JobSpec;
import kueue.protocol.Message;
import kueue.store.JobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that owns the scheduler. Sessions hand it work through {@link #submit}; it takes
 * everything queued as one batch, lets the scheduler decide, stores the events of the batch in one
 * transaction, and only then carries out the effects (answers, offers, kills). A crash between the
 * two steps loses nothing that anybody was told about.
 */
final class SchedulerLoop {
  private static final Logger log = LoggerFactory.getLogger(SchedulerLoop.class);
  private static final Duration TICK_INTERVAL = Duration.ofSeconds(1);

  /** Bounds one batch so that answers to early requests are not held back by a flood. */
  private static final int MAX_BATCH = 4096;

  /**
   * Jobs are mostly offered in the order they were queued, so the cache keeps the oldest specs and
   * takes no new ones while full: evicting the oldest would drop exactly the next ones offered.
   */
  private static final int SPEC_CACHE_SIZE = 65_536;

  private final Scheduler scheduler;
  private final JobStore store;
  private final Clock clock;
  private final LinkedBlockingQueue<Consumer<Instant>> inbox = new LinkedBlockingQueue<>();
  private final Decisions decisions = new Decisions();
  private final Map<Long, CompletableFuture<Effect>> openRequests = new HashMap<>();

  /**
   * Keyed submissions handled in this turn, not yet in the store: a repeat in the same turn gets
   * the first one's answer.
   */
  private final Map<String, CompletableFuture<Effect>> submissionsThisTurn = new HashMap<>();

  private final Map<Long, Outbound> workerLinks = new HashMap<>();
  private final Map<Long, List<Waiter>> waitersByJob = new HashMap<>();

  /** Followers of jobs' output waiting for the next stored change of the job (e.g. its start). */
  private final Map<Long, List<CompletableFuture<Void>>> changeWatchers = new HashMap<>();

  /**
   * Specs of queued jobs, so the usual submit-then-offer path needs no database read. Bounded: a
   * million queued jobs must not keep a million specs in memory; equal environments (one per
   * submitted job, decoded separately) are shared, so an entry costs little more than its argv.
   */
  private final Map<Long, JobSpec> queuedSpecs = new HashMap<>();

  private Map<String, String> lastEnv;

  /**
   * Messages to workers from the effects being carried out, by link in order of first use: a
   * result's confirmation and the next offer then reach the worker in one write.
   */
  private final Map<Outbound, List<Message>> heldMessages = new LinkedHashMap<>();

  /** Run once the current batch is stored and its effects carried out. */
  private final List<Runnable> afterBatch = new ArrayList<>();

  private final Thread thread;
  private long nextRequestId = 1;
  private long nextWorkerId = 1;

  /** The id each named worker got, kept in the store so that it stays across restarts. */
  private final Map<String, Long> workerIdsByName = new HashMap<>();

  /**
   * The connection of each registered worker until its session's disconnect reaches this thread
   * (its link may be gone from {@link #workerLinks} before that): only then is its id free for the
   * worker's next connection.
   */
  private final Map<Long, Outbound> workerSessions = new HashMap<>();

  private Instant nextTick;

  /** Cutoff of an expiry still deleting jobs chunk by chunk between batches; null when none. */
  private Instant expiringBefore;

  private volatile boolean running = true;
  private volatile Throwable failure;
  private final Runnable onFatalError;

  SchedulerLoop(Scheduler scheduler, JobStore store, Clock clock, Runnable onFatalError) {
    this.scheduler = scheduler;
    this.store = store;
    this.clock = clock;
    this.onFatalError = onFatalError;
    this.thread = Thread.ofPlatform().name("scheduler").unstarted(this::run);
    workerIdsByName.putAll(store.workerIds());
    for (long id : workerIdsByName.values()) {
      nextWorkerId = Math.max(nextWorkerId, id + 1);
    }
  }

  /** Metrics to report each turn to, or none; set before {@link #start()}. */
  private ServerMetrics metrics;

  void reportTo(ServerMetrics metrics) {
    this.metrics = metrics;
  }

  void start() {
    nextTick = clock.instant().plus(TICK_INTERVAL);
    thread.start();
  }

  void stop() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs work on the loop thread with the batch's time. */
  void submit(Consumer<Instant> work) {
    if (failure != null) {
      throw new IllegalStateException("the scheduler stopped after an error", failure);
    }
    inbox.add(work);
  }

  /**
   * A command whose answer (SubmitAccepted, CancelAccepted, RequestRejected) completes the future.
   */
  CompletableFuture<Effect> request(LongFunction<Command> command) {
    CompletableFuture<Effect> answer = new CompletableFuture<>();
    submit(
        now -> {
          long requestId = nextRequestId++;
          openRequests.put(requestId, answer);
          try {
            scheduler.handle(command.apply(requestId), now, decisions);
          } catch (RuntimeException e) {
            openRequests.remove(requestId);
            throw e;
          }
        });
    return answer;
  }

  /**
   * Like {@link #request} for a submission (Submit or SubmitBatch) with a client's key: when a
   * submission with that key was stored before, or is being handled in this turn, the answer is the
   * jobs it created, and nothing new is queued. A client that lost the answer to its submission
   * (the server restarted, the network broke) tries again with the same key.
   */
  CompletableFuture<Effect> submitOnce(String key, LongFunction<Command> command) {
    if (key == null) {
      return request(command);
    }
    CompletableFuture<Effect> answer = new CompletableFuture<>();
    submit(
        now -> {
          CompletableFuture<Effect> inThisTurn = submissionsThisTurn.get(key);
          if (inThisTurn != null) {
            inThisTurn.whenComplete(
                (effect, failure) -> {
                  if (failure != null) {
                    answer.completeExceptionally(failure);
                  } else {
                    answer.complete(effect);
                  }
                });
            return;
          }
          List<Long> stored = store.jobIdsWithSubmissionKey(key);
          if (!stored.isEmpty()) {
            answer.complete(new Effect.SubmitAccepted(0, stored));
            return;
          }
          long requestId = nextRequestId++;
          openRequests.put(requestId, answer);
          submissionsThisTurn.put(key, answer);
          try {
            scheduler.handle(command.apply(requestId), now, decisions);
          } catch (RuntimeException e) {
            openRequests.remove(requestId);
            submissionsThisTurn.remove(key);
            throw e;
          }
        });
    return answer;
  }

  /** A command nobody waits for, e.g. a worker's report. */
  void tell(Command command) {
    submit(now -> scheduler.handle(command, now, decisions));
  }

  /**
   * Commands nobody waits for, handled in one turn of the loop: a worker's reports that arrived
   * together (e.g. a job's start and end) are then stored in one transaction. Each is refused alone
   * if it is bad, as if told one by one.
   */
  void tellAll(List<Command> commands) {
    if (commands.size() == 1) {
      tell(commands.getFirst());
      return;
    }
    List<Command> copy = List.copyOf(commands);
    submit(
        now -> {
          for (Command command : copy) {
            try {
              scheduler.handle(command, now, decisions);
            } catch (RuntimeException e) {
              log.error("refused a command: {}", e.toString(), e);
            }
          }
        });
  }

  /** Reads scheduler state on the loop thread. */
  <T> CompletableFuture<T> query(Function<Scheduler, T> read) {
    CompletableFuture<T> answer = new CompletableFuture<>();
    submit(
        now -> {
          try {
            answer.complete(read.apply(scheduler));
          } catch (RuntimeException e) {
            answer.completeExceptionally(e);
          }
        });
    return answer;
  }

  /** Store writes other than scheduler events (clean-jobs) also go through the one writer. */
  <T> CompletableFuture<T> withStore(Function<JobStore, T> write) {
    CompletableFuture<T> answer = new CompletableFuture<>();
    submit(
        now -> {
          try {
            answer.complete(write.apply(store));
          } catch (RuntimeException e) {
            answer.completeExceptionally(e);
          }
        });
    return answer;
  }

  /** Registers a worker connection; the id is passed to then, on the loop thread. */
  void connectWorker(Outbound link, Message.Register register, Consumer<Long> registered) {
    submit(
        now -> {
          long workerId = workerIdFor(register.name());
          workerSessions.put(workerId, link);
          workerLinks.put(workerId, link);
          // Registered must reach the worker before any offer for it; both go through the same
          // queue.
          link.send(new Message.Registered(workerId));
          registered.accept(workerId);
          // Attempts that ended while the worker was away are claimed like running ones, so that
          // their results count when they are the job's current attempt.
          List<AttemptRef> claims = new ArrayList<>(register.running());
          for (Message.Ended ended : register.ended()) {
            claims.add(new AttemptRef(ended.jobId(), ended.attempt()));
          }
          scheduler.handle(
              new Command.ConnectWorker(workerId, register.name(), register.capacity(), claims),
              now,
              decisions);
          for (Message.Ended ended : register.ended()) {
            scheduler.handle(
                new Command.MarkEnded(
                    workerId,
                    ended.jobId(),
                    ended.attempt(),
                    ended.outcome(),
                    ended.stdout(),
                    ended.stderr()),
                now,
                decisions);
          }
        });
  }

  /**
   * The worker's id: the one its name got before, kept in the store, unless a worker of that name
   * is connected now (two workers of one name at once), which makes this connection's id one of its
   * own, as for a worker without a name.
   */
  private long workerIdFor(String name) {
    if (name == null || name.isBlank()) {
      return nextWorkerId++;
    }
    Long known = workerIdsByName.get(name);
    if (known == null) {
      long id = nextWorkerId++;
      store.saveWorkerId(name, id);
      workerIdsByName.put(name, id);
      return id;
    }
    return workerSessions.containsKey(known) ? nextWorkerId++ : known;
  }

  void disconnectWorker(long workerId, String reason) {
    submit(
        now -> {
          workerSessions.remove(workerId);
          workerLinks.remove(workerId);
          scheduler.handle(new Command.DisconnectWorker(workerId, reason), now, decisions);
        });
  }

  /**
   * Completes when every listed job has ended. Jobs not known to the scheduler have ended already
   * (or never existed; the caller checks that against the store).
   */
  CompletableFuture<Void> awaitEnd(List<Long> jobIds) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    submit(
        now -> {
          Set<Long> open = new HashSet<>();
          for (long id : jobIds) {
            if (scheduler.activeJob(id).isPresent()) {
              open.add(id);
            }
          }
          if (open.isEmpty()) {
            // The scheduler may have ended them in this very batch, which is not stored yet:
            // the caller reads their results from the store once this completes.
            afterBatch.add(() -> done.complete(null));
            return;
          }
          Waiter waiter = new Waiter(open, done);
          for (long id : open) {
            waitersByJob.computeIfAbsent(id, k -> new ArrayList<>()).add(waiter);
          }
        });
    return done;
  }

  private record Waiter(Set<Long> open, CompletableFuture<Void> done) {}

  /**
   * Completes once a change of the job (any event of it) is stored, or at once when the job is no
   * longer in the state and attempt the caller last saw. Callers give up after a while themselves:
   * a watcher that gave up is dropped with the next one of the same job or the job's next change.
   */
  CompletableFuture<Void> awaitChange(long jobId, kueue.model.JobState seenState, int seenAttempt) {
    CompletableFuture<Void> changed = new CompletableFuture<>();
    submit(
        now -> {
          var job = scheduler.activeJob(jobId);
          if (job.isEmpty()
              || job.get().state() != seenState
              || job.get().attempt() != seenAttempt) {
            // Changed in this very batch, perhaps: its effects are stored once the batch is.
            afterBatch.add(() -> changed.complete(null));
            return;
          }
          List<CompletableFuture<Void>> watchers =
              changeWatchers.computeIfAbsent(jobId, k -> new ArrayList<>(1));
          watchers.removeIf(CompletableFuture::isDone);
          watchers.add(changed);
        });
    return changed;
  }

  private void run() {
    List<Consumer<Instant>> batch = new ArrayList<>(MAX_BATCH);
    while (running) {
      try {
        turn(batch);
      } catch (InterruptedException e) {
        if (!running) {
          break;
        }
      } catch (Throwable e) {
        // State in memory may now differ from the database: stop rather than act on it. A restart
        // rebuilds the state from the database.
        failure = e;
        log.error("scheduler stopped: {}", e.toString(), e);
        openRequests.values().forEach(f -> f.completeExceptionally(e));
        onFatalError.run();
        return;
      }
    }
  }

  /**
   * One turn: the work that arrived, then placement, persistence and effects. A method of its own
   * because the JIT compiles methods by their calls: a loop entered once and run for the server's
   * life would stay interpreted, and this is the scheduler's hottest code.
   */
  private void turn(List<Consumer<Instant>> batch) throws InterruptedException {
    long waitMillis =
        expiringBefore != null
            ? 0
            : Math.max(0, Duration.between(clock.instant(), nextTick).toMillis());
    Consumer<Instant> first = inbox.poll(waitMillis, TimeUnit.MILLISECONDS);
    long turnStart = metrics == null ? 0 : System.nanoTime();
    Instant now = clock.instant();
    if (first != null) {
      batch.add(first);
      inbox.drainTo(batch, MAX_BATCH - 1);
    }
    for (Consumer<Instant> work : batch) {
      try {
        work.accept(now);
      } catch (RuntimeException e) {
        // The scheduler validates before it changes anything, so one bad command is refused
        // alone instead of stopping everybody's work.
        log.error("refused a command: {}", e.toString(), e);
      }
    }
    batch.clear();
    if (!now.isBefore(nextTick)) {
      scheduler.handle(new Command.Tick(), now, decisions);
      nextTick = now.plus(TICK_INTERVAL);
    }
    scheduler.place(now, decisions);
    boolean decided = !decisions.isEmpty();
    if (decided) {
      long commitStart = metrics == null ? 0 : System.nanoTime();
      store.persist(decisions.events());
      if (metrics != null) {
        metrics.stored(decisions.events(), System.nanoTime() - commitStart);
      }
      rememberSpecs(decisions.events());
      for (Effect effect : decisions.effects()) {
        carryOut(effect);
      }
      if (!changeWatchers.isEmpty()) {
        wakeChangeWatchers(decisions.events());
      }
      decisions.clear();
      sendHeldMessages();
    }
    submissionsThisTurn.clear();
    if (!afterBatch.isEmpty()) {
      afterBatch.forEach(Runnable::run);
      afterBatch.clear();
    }
    if (expiringBefore != null) {
      expireChunk();
    }
    if (metrics != null && (first != null || decided)) {
      metrics.turned(System.nanoTime() - turnStart);
    }
  }

  private void rememberSpecs(List<Event> events) {
    for (Event event : events) {
      if (event instanceof Event.JobQueued queued) {
        if (queuedSpecs.size() < SPEC_CACHE_SIZE) {
          queuedSpecs.put(queued.jobId(), sharingEnvironment(queued.spec()));
        }
      } else if (event instanceof Event.JobCanceled canceled) {
        queuedSpecs.remove(canceled.jobId());
      } else if (event instanceof Event.JobFailed failed) {
        queuedSpecs.remove(failed.jobId());
      } else if (event instanceof Event.JobUpdated updated
          && (updated.timeLimitSeconds() != null || updated.retries() != null)) {
        // The worker enforces the time limit from the spec it is offered: read the changed one.
        queuedSpecs.remove(updated.jobId());
      } else if (event instanceof Event.FinishedJobsExpired expired) {
        expiringBefore = expired.endedBefore();
      }
    }
  }

  private JobSpec sharingEnvironment(JobSpec spec) {
    Map<String, String> env = spec.env();
    if (env == null || env == lastEnv) {
      return spec;
    }
    if (!env.equals(lastEnv)) {
      lastEnv = env;
      return spec;
    }
    return spec.withEnv(lastEnv);
  }

  /**
   * Storing FinishedJobsExpired deleted one chunk of jobs; the rest go one chunk per turn of the
   * loop, so that requests queued meanwhile are answered in between.
   */
  private void expireChunk() {
    long deleted = store.expire(expiringBefore, JobStore.EXPIRY_CHUNK);
    if (deleted < JobStore.EXPIRY_CHUNK) {
      expiringBefore = null;
    }
    if (deleted > 0) {
      log.debug("deleted {} expired jobs", deleted);
    }
  }

  private void carryOut(Effect effect) {
    switch (effect) {
      case Effect.SubmitAccepted accepted -> answer(accepted.requestId(), effect);
      case Effect.CancelAccepted accepted -> answer(accepted.requestId(), effect);
      case Effect.CancelJobsAnswered answered -> answer(answered.requestId(), effect);
      case Effect.RequestRejected rejected -> answer(rejected.requestId(), effect);
      case Effect.SubmitRaced raced -> answer(raced.requestId(), effect);
      case Effect.JobsUpdated updated -> answer(updated.requestId(), effect);
      case Effect.SendOffer offer -> sendOffer(offer);
      case Effect.SendKill kill ->
          toWorker(kill.workerId(), new Message.Kill(kill.jobId(), kill.attempt(), kill.reason()));
      case Effect.ConfirmResult confirm ->
          toWorker(
              confirm.workerId(), new Message.ResultStored(confirm.jobId(), confirm.attempt()));
      case Effect.JobsTerminated terminated -> wakeWaiters(terminated.jobIds());
      case Effect.CloseWorker close -> {
        Outbound link = workerLinks.remove(close.workerId());
        if (link != null) {
          log.warn("worker {} presumed lost: {}", close.workerId(), close.reason());
          link.abort();
        }
      }
    }
  }

  private void answer(long requestId, Effect effect) {
    CompletableFuture<Effect> request = openRequests.remove(requestId);
    if (request != null) {
      request.complete(effect);
    }
  }

  private void sendOffer(Effect.SendOffer offer) {
    Outbound link = workerLinks.get(offer.workerId());
    if (link == null) {
      return; // its disconnect is already queued and will requeue the job
    }
    JobSpec spec = queuedSpecs.remove(offer.jobId());
    if (spec == null) {
      Optional<JobSpec> stored = store.spec(offer.jobId());
      if (stored.isEmpty()) {
        log.error("job {} was offered but has no stored spec", offer.jobId());
        return;
      }
      spec = stored.get();
    }
    hold(
        link,
        new Message.Offer(
            offer.jobId(),
            offer.attempt(),
            spec,
            null,
            offer.devices().isEmpty() ? null : offer.devices()));
  }

  private void toWorker(long workerId, Message message) {
    Outbound link = workerLinks.get(workerId);
    if (link != null) {
      hold(link, message);
    }
  }

  /**
   * Messages of this turn's effects go out together per worker once all effects are carried out.
   */
  private void hold(Outbound link, Message message) {
    heldMessages.computeIfAbsent(link, k -> new ArrayList<>()).add(message);
  }

  private void sendHeldMessages() {
    if (heldMessages.isEmpty()) {
      return;
    }
    heldMessages.forEach(Outbound::sendAll);
    heldMessages.clear();
  }

  private void wakeChangeWatchers(List<Event> events) {
    for (Event event : events) {
      List<CompletableFuture<Void>> watchers = changeWatchers.remove(Event.jobIdOf(event));
      if (watchers != null) {
        watchers.forEach(watcher -> watcher.complete(null));
      }
    }
  }

  private void wakeWaiters(List<Long> jobIds) {
    for (long id : jobIds) {
      List<Waiter> waiters = waitersByJob.remove(id);
      if (waiters == null) {
        continue;
      }
      for (Waiter waiter : waiters) {
        waiter.open().remove(id);
        if (waiter.open().isEmpty()) {
          waiter.done().complete(null);
        }
      }
    }
  }
}
