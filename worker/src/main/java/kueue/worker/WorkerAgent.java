package kueue.worker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import kueue.config.KueueConfig;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.SystemInfo;
import kueue.protocol.EncryptionMismatchException;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.PeerConnection;
import kueue.protocol.ProtocolException;
import kueue.protocol.TransportSecurity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's side of the protocol (SPEC §6.4): connects and registers, runs offered jobs, reports
 * their start and end, sends heartbeats, and reconnects with backoff when the connection is lost.
 * Jobs keep running while the server is away; their results are kept until the server confirms it
 * stored them, and are re-reported on every registration until then.
 *
 * <p>A job must never run twice at once, so the worker gives up its jobs when it may have lost its
 * claim on them (see {@link ContactLimits}): after half of {@code worker_timeout_seconds} without
 * any message from the server it kills them and forgets their results, because the server may be
 * about to run them elsewhere. A connection that is actively refused does not count as silence: the
 * server process is down, and nobody can be requeuing anything. A {@link Reaper} kills the jobs of
 * a worker that dies without doing so itself.
 *
 * <p>Threads: {@link #run()} owns the connection and reads from it; job results arrive on each
 * job's own thread; heartbeats come from a timer. The maps below are guarded by {@code lock}; no
 * network I/O happens while holding it. Results are sent on a connection only once it is
 * registered, so an Ended can never reach the server before the Register it belongs after.
 */
public final class WorkerAgent {
  private static final Logger log = LoggerFactory.getLogger(WorkerAgent.class);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REGISTER_TIMEOUT = Duration.ofSeconds(30);

  /**
   * A job that ends within this long of its start is watched by its launcher thread alone, and
   * its start and end are reported in one write, which the server stores in one transaction
   * instead of two; a longer job's start is reported that much later, which changes nothing for
   * it.
   */
  static final Duration QUICK_END = Duration.ofMillis(10);

  /** A single result must stay well below the server's message limit, whatever the output cap. */
  private static final int MAX_ENDED_BYTES = MessageCodec.MAX_MESSAGE_BYTES / 2;

  /**
   * Environments of offers kept per connection, so that the server sends each only once while it
   * is in use (an environment is often several kilobytes, against a hundred bytes for the rest).
   */
  static final int ENVIRONMENT_SLOTS = 32;

  /** Results that do not fit into Register are listed as running and sent one by one after it. */
  private static final int MAX_REGISTER_ENDED_BYTES = MessageCodec.MAX_MESSAGE_BYTES / 2;

  private final KueueConfig.Common common;
  private final TransportSecurity transport;
  private final String name;
  private final int maxSlots;
  private final Duration heartbeatInterval;
  private final ContactLimits limits;
  private final Duration shutdownWait;
  private final String software;
  private final ResourceProbe probe;
  private final ProcessRunner runner;
  private final Backoff backoff;
  private final ScheduledExecutorService heartbeats;

  private final Object lock = new Object();
  private final Map<AttemptRef, Running> running = new LinkedHashMap<>();
  private final Map<AttemptRef, Message.Ended> unconfirmed = new LinkedHashMap<>();
  private final Set<AttemptRef> killedByShutdown = new HashSet<>();

  /** Killed by shutdown and ended: reported as Released so the server requeues them at once. */
  private final List<AttemptRef> released = new ArrayList<>();

  /** Killed because the claim on them may be lost: never reported, their results are dropped. */
  private final Set<AttemptRef> lostClaims = new HashSet<>();

  private final Reaper reaper;

  /** System.nanoTime() of the last sign that no server is presuming this worker lost. */
  private volatile long lastContact = System.nanoTime();

  private PeerConnection connection;
  private PeerConnection registered;
  private long workerId = -1;
  private volatile boolean stopping;
  private boolean runStarted;

  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final CountDownLatch stopCompleted = new CountDownLatch(1);
  private final CountDownLatch runFinished = new CountDownLatch(1);

  /**
   * A job that holds slots on this worker. Its process is started on a launcher thread, so for a
   * moment it has none: a kill that comes meanwhile is remembered and carried out by the launcher.
   * Fields are guarded by {@code lock}.
   */
  private static final class Running {
    final int slots;
    RunningJob job;
    boolean killWanted;

    Running(int slots) {
      this.slots = slots;
    }

    int slots() {
      return slots;
    }

    /** The job to kill now, or null when it has no process yet (the launcher kills it). */
    RunningJob killTarget() {
      if (job == null) {
        killWanted = true;
      }
      return job;
    }
  }

  /**
   * Starts job processes, so that the connection's reader goes on with the next message while a
   * process starts (posix_spawn returns only once the child has exec'd, which takes milliseconds
   * on a busy machine) and several jobs can start at once.
   */
  private static final ExecutorService LAUNCHERS =
      Executors.newCachedThreadPool(task -> Thread.ofPlatform().daemon().name("launch").unstarted(task));

  /**
   * The agent as kueue_worker runs it: real machine probe, standard kill grace and backoff, both
   * shortened when the worker timeout asks for it.
   *
   * @param workerTimeout the server's {@code worker_timeout_seconds} (same shared config file)
   */
  public WorkerAgent(
      KueueConfig.Common common,
      KueueConfig.Worker settings,
      Duration workerTimeout,
      String software) {
    this(common, settings, new ContactLimits(workerTimeout), software, new ResourceProbe(settings));
  }

  private WorkerAgent(
      KueueConfig.Common common,
      KueueConfig.Worker settings,
      ContactLimits limits,
      String software,
      ResourceProbe probe) {
    this(
        common,
        settings,
        limits.workerTimeout(),
        software,
        probe,
        new ProcessRunner(
            workerName(settings, probe),
            settings.capturedOutputMaxBytes(),
            limits.killGrace(ProcessRunner.DEFAULT_KILL_GRACE)),
        limits.killGrace(ProcessRunner.DEFAULT_KILL_GRACE),
        new Backoff(Duration.ofMillis(200), limits.maxBackoff()));
  }

  /**
   * @param runner must use the same worker name as {@code settings} (or the host name when unset)
   * @param killGrace the runner's grace period; shutdown waits that long plus a margin for jobs
   */
  WorkerAgent(
      KueueConfig.Common common,
      KueueConfig.Worker settings,
      Duration workerTimeout,
      String software,
      ResourceProbe probe,
      ProcessRunner runner,
      Duration killGrace,
      Backoff backoff) {
    this.common = common;
    this.transport = TransportSecurity.of(common.encrypted(), common.sharedSecret());
    this.name = workerName(settings, probe);
    this.maxSlots = settings.workerMaxParallelJobs();
    this.limits = new ContactLimits(workerTimeout);
    this.heartbeatInterval = limits.heartbeatPeriod(settings.heartbeatInterval());
    this.shutdownWait = killGrace.plusSeconds(5);
    this.software = software;
    this.probe = probe;
    this.runner = runner;
    this.backoff = backoff;
    this.heartbeats =
        Executors.newSingleThreadScheduledExecutor(
            task -> Thread.ofPlatform().daemon().name("heartbeat").unstarted(task));
    this.reaper = Reaper.start(killGrace);
  }

  /** The configured worker name, or the host name when none is set. */
  public static String workerName(KueueConfig.Worker settings, ResourceProbe probe) {
    String configured = settings.workerName();
    return configured == null || configured.isBlank() ? probe.hostname() : configured.strip();
  }

  public String name() {
    return name;
  }

  /** The id the server gave this worker on the current connection, or -1 while not registered. */
  public long workerId() {
    synchronized (lock) {
      return registered == null ? -1 : workerId;
    }
  }

  Set<AttemptRef> runningAttempts() {
    synchronized (lock) {
      return Set.copyOf(running.keySet());
    }
  }

  Set<AttemptRef> unconfirmedResults() {
    synchronized (lock) {
      return Set.copyOf(unconfirmed.keySet());
    }
  }

  /** Attempts killed because the worker lost contact with the server, while they are dying. */
  Set<AttemptRef> lostAttempts() {
    synchronized (lock) {
      return Set.copyOf(lostClaims);
    }
  }

  long reaperPid() {
    return reaper.pid();
  }

  /** Connects, serves and reconnects until {@link #stop()}; returns once stopped. */
  public void run() {
    synchronized (lock) {
      if (runStarted) {
        throw new IllegalStateException("the agent already runs");
      }
      runStarted = true;
    }
    if (!transport.encrypted()) {
      log.warn("encryption = \"none\": jobs and their output cross the network unencrypted");
    }
    long check = limits.checkPeriod().toMillis();
    heartbeats.scheduleWithFixedDelay(this::checkContact, check, check, TimeUnit.MILLISECONDS);
    lastContact = System.nanoTime();
    try {
      while (!stopping) {
        PeerConnection server = connect();
        if (server == null) {
          continue;
        }
        try {
          serve(server);
        } catch (IOException | ProtocolException e) {
          if (!stopping) {
            log.warn("connection to server {} lost: {}", address(), e.getMessage());
          }
        } catch (RuntimeException e) {
          log.error("unexpected error on the connection to server {}; reconnecting", address(), e);
        } finally {
          endSession(server);
        }
        if (!stopping) {
          Duration delay = backoff.next();
          log.info("reconnecting in {} ms", delay.toMillis());
          pause(delay);
        }
      }
    } finally {
      // Whoever waits for run() to return (e.g. main, before exiting) must find the jobs killed.
      if (stopRequested.getCount() == 0) {
        await(stopCompleted, shutdownWait.plusSeconds(5));
      }
      heartbeats.shutdownNow();
      reaper.close();
      runFinished.countDown();
    }
  }

  /**
   * Stops taking work, kills all running jobs (TERM, then KILL after the grace period), and closes
   * the connection without reporting those jobs, so the server requeues them at once. Waits until
   * that is done and {@link #run()} has returned. Safe to call more than once and from any thread.
   */
  public void stop() {
    List<RunningJob> jobs = null;
    synchronized (lock) {
      if (!stopping) {
        stopping = true;
        jobs = new ArrayList<>();
        for (Running entry : running.values()) {
          RunningJob job = entry.killTarget();
          if (job != null) {
            jobs.add(job);
          }
        }
        killedByShutdown.addAll(running.keySet());
      }
    }
    if (jobs != null) {
      stopRequested.countDown();
      if (!jobs.isEmpty()) {
        log.info("stopping: killing {} running job(s)", jobs.size());
      }
      jobs.forEach(RunningJob::kill);
      awaitNoRunningJobs(shutdownWait);
      PeerConnection current;
      PeerConnection registeredNow;
      List<AttemptRef> toRelease;
      synchronized (lock) {
        current = connection;
        registeredNow = registered;
        toRelease = List.copyOf(released);
      }
      if (registeredNow != null) {
        release(registeredNow, toRelease);
      }
      if (current != null) {
        current.close();
      }
      heartbeats.shutdownNow();
      stopCompleted.countDown();
    } else {
      await(stopCompleted, shutdownWait.plusSeconds(5));
    }
    boolean mustWait;
    synchronized (lock) {
      mustWait = runStarted;
    }
    if (mustWait && !await(runFinished, CONNECT_TIMEOUT.plusSeconds(5))) {
      log.warn("the connection loop did not stop in time");
    }
  }

  private static boolean await(CountDownLatch latch, Duration timeout) {
    try {
      return latch.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private PeerConnection connect() {
    PeerConnection server;
    try {
      server =
          PeerConnection.open(
              common.serverName(),
              common.serverPort(),
              common.sharedSecret(),
              "worker",
              software,
              CONNECT_TIMEOUT,
              transport);
    } catch (PeerConnection.AuthenticationException e) {
      retryLater("authentication with server " + address() + " failed: " + e.getMessage(), true);
      return null;
    } catch (EncryptionMismatchException e) {
      retryLater("cannot talk to server " + address() + ": " + e.getMessage(), true);
      return null;
    } catch (ProtocolException e) {
      retryLater("server " + address() + " broke the protocol: " + e.getMessage(), true);
      return null;
    } catch (IOException e) {
      if (isRefused(e)) {
        // Nobody listens: the server process is down and cannot be running our jobs elsewhere.
        lastContact = System.nanoTime();
      }
      retryLater("cannot reach server " + address() + ": " + describe(e), false);
      return null;
    }
    // A handshake alone is no contact: only a registration renews the server's view of our jobs.
    synchronized (lock) {
      if (!stopping) {
        connection = server;
        return server;
      }
    }
    server.close();
    return null;
  }

  private void retryLater(String problem, boolean serious) {
    if (stopping) {
      return;
    }
    Duration delay = backoff.next();
    String text = problem + "; retrying in " + delay.toMillis() + " ms";
    if (serious) {
      log.error(text);
    } else {
      log.warn(text);
    }
    pause(delay);
  }

  private void serve(PeerConnection server) throws IOException, ProtocolException {
    SystemInfo system = probe.systemInfo();
    Set<AttemptRef> reportedEnded = new HashSet<>();
    List<AttemptRef> runningRefs;
    List<Message.Ended> ended = new ArrayList<>();
    // A job that ends after this snapshot is not in it as ended; it is sent once Registered
    // arrives.
    synchronized (lock) {
      runningRefs = new ArrayList<>(running.keySet());
      // Attempts given up as lost are not claimed: the server runs them again.
      runningRefs.removeAll(lostClaims);
      long budget = MAX_REGISTER_ENDED_BYTES;
      for (Message.Ended result : unconfirmed.values()) {
        AttemptRef ref = new AttemptRef(result.jobId(), result.attempt());
        int size = MessageCodec.encode(result).length;
        if (size <= budget) {
          budget -= size;
          ended.add(result);
          reportedEnded.add(ref);
        } else {
          runningRefs.add(ref);
        }
      }
    }
    server.send(new Message.Register(
        name, system, probe.capacity(system), runningRefs, ended, ENVIRONMENT_SLOTS));
    server.setReceiveTimeout(REGISTER_TIMEOUT);
    Message reply = server.receive();
    if (reply instanceof Message.Failure failure) {
      throw new ProtocolException("the server refused the registration: " + failure.message());
    }
    if (!(reply instanceof Message.Registered registration)) {
      throw new ProtocolException("expected Registered, got " + reply.getClass().getSimpleName());
    }
    lastContact = System.nanoTime();
    // The server answers every heartbeat: a connection silent for longer has died somewhere on
    // the way, even if TCP has not noticed.
    server.setReceiveTimeout(limits.reconnectAfter());
    List<Message.Ended> late = new ArrayList<>();
    int runningCount;
    synchronized (lock) {
      runningCount = running.size();
      registered = server;
      workerId = registration.workerId();
      unconfirmed.forEach(
          (ref, result) -> {
            if (!reportedEnded.contains(ref)) {
              late.add(result);
            }
          });
    }
    backoff.reset();
    log.info(
        "registered with server {} as worker {} \"{}\" ({} running, {} results to confirm)",
        address(),
        registration.workerId(),
        name,
        runningCount,
        reportedEnded.size() + late.size());
    for (Message.Ended result : late) {
      server.send(result);
    }
    long period = Math.max(1, heartbeatInterval.toMillis());
    ScheduledFuture<?> heartbeat =
        heartbeats.scheduleWithFixedDelay(
            () -> sendHeartbeat(server), period, period, TimeUnit.MILLISECONDS);
    @SuppressWarnings("unchecked")
    Map<String, String>[] environments = new Map[ENVIRONMENT_SLOTS];
    try {
      while (true) {
        receiveOne(server, environments);
      }
    } finally {
      heartbeat.cancel(false);
    }
  }

  /**
   * Its own method so that the JIT compiles it: the loop around it runs once per connection and
   * would stay interpreted.
   */
  private void receiveOne(PeerConnection server, Map<String, String>[] environments)
      throws IOException, ProtocolException {
    Message message = server.receive();
    lastContact = System.nanoTime();
    if (message instanceof Message.Offer offer && offer.envSlot() != null) {
      message = withEnvironment(offer, environments);
    }
    handle(server, message);
  }

  /**
   * The offer with its environment: the one it carries, which its slot keeps from now on, or the
   * one its slot kept.
   */
  static Message.Offer withEnvironment(Message.Offer offer, Map<String, String>[] environments)
      throws ProtocolException {
    int slot = offer.envSlot();
    if (slot < 0 || slot >= environments.length) {
      throw new ProtocolException("offer names environment slot " + slot + " of " + environments.length);
    }
    JobSpec spec = offer.spec();
    if (spec == null) {
      return offer;
    }
    if (spec.env() != null) {
      environments[slot] = spec.env();
      return new Message.Offer(offer.jobId(), offer.attempt(), spec, null);
    }
    Map<String, String> env = environments[slot];
    if (env == null) {
      throw new ProtocolException("offer names environment slot " + slot + ", which holds none");
    }
    return new Message.Offer(offer.jobId(), offer.attempt(), spec.withEnv(env), null);
  }

  private void endSession(PeerConnection server) {
    synchronized (lock) {
      if (registered == server) {
        registered = null;
        workerId = -1;
      }
      if (connection == server) {
        connection = null;
      }
    }
    server.close();
  }

  private void handle(PeerConnection server, Message message) throws IOException {
    switch (message) {
      case Message.Offer offer -> onOffer(server, offer);
      case Message.Kill kill -> onKill(kill);
      case Message.ResultStored stored -> {
        synchronized (lock) {
          unconfirmed.remove(new AttemptRef(stored.jobId(), stored.attempt()));
        }
      }
      case Message.HeartbeatAck ack -> {
        // its arrival is all that counts
      }
      case Message.Failure failure ->
          log.warn("server reported a failure ({}): {}", failure.code(), failure.message());
      default ->
          log.warn("ignoring unexpected {} from the server", message.getClass().getSimpleName());
    }
  }

  private void onOffer(PeerConnection server, Message.Offer offer) throws IOException {
    AttemptRef ref = new AttemptRef(offer.jobId(), offer.attempt());
    JobSpec spec = offer.spec();
    Message repeated = null;
    synchronized (lock) {
      Running current = running.get(ref);
      if (stopping) {
        repeated = declined(ref, false, "worker " + name + " is shutting down");
      } else if (current != null) {
        if (current.job == null) {
          return; // still starting: its launcher sends Started
        }
        repeated = new Message.Started(ref.jobId(), ref.attempt(), current.job.started());
      } else if (unconfirmed.containsKey(ref)) {
        repeated = unconfirmed.get(ref);
      }
    }
    if (repeated != null) {
      server.send(repeated);
      return;
    }
    AttemptRef older = killOlderAttempt(ref);
    if (older != null) {
      // The server has given that attempt up; it must be gone before this one may start.
      log.info(
          "job {}: killing attempt {} before attempt {} may run",
          ref.jobId(),
          older.attempt(),
          ref.attempt());
      server.send(
          declined(
              ref,
              false,
              "attempt " + older.attempt() + " of this job is still stopping on " + name));
      return;
    }
    if (spec == null || spec.argv() == null) {
      server.send(declined(ref, true, "the offer carries no job"));
      return;
    }
    String directoryProblem = directoryProblem(spec.cwd());
    if (directoryProblem != null) {
      log.info("declining job {}: {}", ref.jobId(), directoryProblem);
      server.send(declined(ref, true, directoryProblem));
      return;
    }
    Running entry = new Running(spec.slots());
    synchronized (lock) {
      int used = running.values().stream().mapToInt(Running::slots).sum();
      if (used + spec.slots() > maxSlots) {
        repeated =
            declined(
                ref,
                false,
                "no free job slots on " + name + " (" + used + " of " + maxSlots + " used)");
      } else {
        // Taken now: the slots must count for the next offer even before the process exists.
        running.put(ref, entry);
      }
    }
    if (repeated != null) {
      server.send(repeated);
      return;
    }
    LAUNCHERS.execute(() -> launch(server, ref, spec, entry));
  }

  private void launch(PeerConnection server, AttemptRef ref, JobSpec spec, Running entry) {
    RunningJob job;
    try {
      job = runner.startToWatch(ref, spec);
    } catch (RuntimeException e) {
      log.error("job {} attempt {} cannot start", ref.jobId(), ref.attempt(), e);
      job = RunningJob.notStarted(
          ref, new JobOutcome(null, null, "cannot start: " + e, null, java.time.Instant.now()));
    }
    if (job.pid() > 0 && !job.hasEnded()) {
      reaper.track(job.pid());
    }
    boolean killAtOnce;
    synchronized (lock) {
      entry.job = job;
      killAtOnce = stopping || entry.killWanted;
      if (stopping) {
        killedByShutdown.add(ref);
      }
    }
    if (killAtOnce) {
      job.kill();
    }
    Message.Started started =
        job.started() == null ? null : new Message.Started(ref.jobId(), ref.attempt(), job.started());
    // Also hands the job to a thread of its own if it runs longer.
    JobResult quickEnd = job.watchFor(killAtOnce || started == null ? Duration.ZERO : QUICK_END);
    JobResult quick = killAtOnce || started == null ? null : quickEnd;
    if (quick != null) {
      report(ref, quick, started, server);
      return;
    }
    try {
      if (started != null) {
        server.send(started);
      }
    } catch (IOException e) {
      // The reader finds the connection closed and reconnects; the registration lists the job.
      log.debug("cannot report the start of job {}: {}", ref.jobId(), e.getMessage());
      server.close();
    } finally {
      // Registered only now so that Ended can never overtake Started on the wire.
      job.result().thenAccept(result -> onEnded(ref, result));
    }
  }

  private void onKill(Message.Kill kill) {
    AttemptRef ref = new AttemptRef(kill.jobId(), kill.attempt());
    Running target;
    RunningJob job;
    synchronized (lock) {
      target = running.get(ref);
      job = target == null ? null : target.killTarget();
    }
    if (target == null) {
      log.debug(
          "ignoring kill for job {} attempt {}: not running here", ref.jobId(), ref.attempt());
      return;
    }
    log.info("killing job {} attempt {}: {}", ref.jobId(), ref.attempt(), kill.reason());
    if (job != null) {
      job.kill();
    }
  }



  private void onEnded(AttemptRef ref, JobResult result) {
    report(ref, result, null, null);
  }

  /**
   * Reports a result, and before it the job's Started when that is not sent yet (started, to be
   * sent on startedOn), in one write when both go to the same connection.
   */
  private void report(
      AttemptRef ref, JobResult result, Message.Started started, PeerConnection startedOn) {
    Message.Ended ended =
        fitForWire(
            new Message.Ended(
                ref.jobId(), ref.attempt(), result.outcome(), result.stdout(), result.stderr()));
    PeerConnection target;
    boolean reported = false;
    synchronized (lock) {
      Running ran = running.remove(ref);
      if (ran != null && ran.job != null && ran.job.pid() > 0) {
        reaper.untrack(ran.job.pid());
      }
      lock.notifyAll();
      if (lostClaims.remove(ref)) {
        log.info(
            "job {} attempt {} was killed after contact with the server was lost; the server runs"
                + " it again",
            ref.jobId(),
            ref.attempt());
        target = null;
      } else if (killedByShutdown.remove(ref)) {
        log.info("job {} attempt {} killed by shutdown", ref.jobId(), ref.attempt());
        released.add(ref);
        target = null;
      } else {
        unconfirmed.put(ref, ended);
        target = registered;
        reported = true;
      }
    }
    // The log line is written after the result is on its way: the server offers the freed slot
    // as soon as the result arrives, and formatting and writing the line takes a while.
    if (started != null && target == startedOn) {
      send(target, List.of(started, ended), ref);
    } else {
      if (started != null) {
        send(startedOn, List.of(started), ref);
      }
      if (reported && target != null) {
        send(target, List.of(ended), ref);
      }
    }
    if (!reported) {
      return;
    }
    log.info("job {} attempt {} ended: {}", ref.jobId(), ref.attempt(), describe(result.outcome()));
    if (target == null) {
      log.info(
          "job {} attempt {}: result will be reported after reconnecting",
          ref.jobId(),
          ref.attempt());
    }
  }

  private void send(PeerConnection target, List<Message> messages, AttemptRef ref) {
    try {
      target.sendAll(messages);
    } catch (IOException | RuntimeException e) {
      log.warn(
          "cannot report job {} attempt {} ({}); it will be reported after reconnecting",
          ref.jobId(),
          ref.attempt(),
          e.getMessage());
      target.close();
    }
  }

  private void sendHeartbeat(PeerConnection server) {
    synchronized (lock) {
      if (registered != server) {
        return;
      }
    }
    try {
      SystemInfo system = probe.systemInfo();
      server.send(new Message.Heartbeat(system, probe.capacity(system)));
    } catch (IOException e) {
      log.debug("heartbeat failed: {}", e.getMessage());
      server.close();
    } catch (RuntimeException e) {
      // An exception would cancel all later heartbeats of this connection.
      log.warn("cannot send heartbeat", e);
    }
  }

  /**
   * Kills every job once the server may have given up on this worker: no message from it for half
   * the worker timeout, while it was not known to be down (a refused connection).
   */
  private void checkContact() {
    try {
      long silent = System.nanoTime() - lastContact;
      if (stopping || silent < limits.killJobsAfter().toNanos()) {
        return;
      }
      List<RunningJob> victims = new ArrayList<>();
      synchronized (lock) {
        for (Map.Entry<AttemptRef, Running> entry : running.entrySet()) {
          if (lostClaims.add(entry.getKey())) {
            RunningJob job = entry.getValue().killTarget();
            if (job != null) {
              victims.add(job);
            }
          }
        }
      }
      if (victims.isEmpty()) {
        return;
      }
      log.warn(
          "no contact with server {} for {} ms: killing {} job(s), the server will run them again",
          address(),
          TimeUnit.NANOSECONDS.toMillis(silent),
          victims.size());
      victims.forEach(RunningJob::kill);
    } catch (RuntimeException e) {
      // An exception would cancel all later checks.
      log.error("checking the contact with the server failed", e);
    }
  }

  /** Kills another attempt of the job still on this worker, if any; returns which one. */
  private AttemptRef killOlderAttempt(AttemptRef ref) {
    AttemptRef older = null;
    RunningJob job = null;
    synchronized (lock) {
      for (Map.Entry<AttemptRef, Running> entry : running.entrySet()) {
        if (entry.getKey().jobId() == ref.jobId() && entry.getKey().attempt() != ref.attempt()) {
          older = entry.getKey();
          job = entry.getValue().killTarget();
          break;
        }
      }
    }
    if (job != null) {
      job.kill();
    }
    return older;
  }


  private void release(PeerConnection server, List<AttemptRef> attempts) {
    for (AttemptRef ref : attempts) {
      try {
        server.send(
            new Message.Released(ref.jobId(), ref.attempt(), "worker " + name + " stopped"));
      } catch (IOException e) {
        log.debug("cannot release job {}: {}", ref.jobId(), e.getMessage());
        return;
      }
    }
  }

  /** ECONNREFUSED: the server's host answered that nothing listens on the port. */
  private static boolean isRefused(IOException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof java.net.ConnectException
          && cause.getMessage() != null
          && cause.getMessage().contains("refused")) {
        return true;
      }
    }
    return false;
  }

  private void awaitNoRunningJobs(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (lock) {
      while (!running.isEmpty()) {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
          log.warn("{} job(s) still running after the kill grace period", running.size());
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, remaining);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private void pause(Duration delay) {
    try {
      stopRequested.await(delay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopping = true;
    }
  }

  private String directoryProblem(String cwd) {
    try {
      Path directory = Path.of(cwd);
      if (!directory.isAbsolute() || !Files.isDirectory(directory)) {
        return "working directory " + cwd + " does not exist on " + name;
      }
      if (!Files.isReadable(directory) || !Files.isExecutable(directory)) {
        return "working directory " + cwd + " is not accessible on " + name;
      }
      return null;
    } catch (InvalidPathException | NullPointerException e) {
      return "working directory " + cwd + " does not exist on " + name;
    }
  }

  private static Message.Declined declined(AttemptRef ref, boolean permanent, String reason) {
    return new Message.Declined(ref.jobId(), ref.attempt(), permanent, reason);
  }

  /**
   * Shortens captured output until the message is safely below the server's size limit; what is cut
   * from the front is added to droppedBytes like any other truncation.
   */
  static Message.Ended fitForWire(Message.Ended ended) {
    // A UTF-8 character takes at most three bytes per Java char (escaped control characters up
    // to six): small output needs no encoding to know that it fits.
    long chars = textLength(ended.stdout()) + textLength(ended.stderr());
    if (chars * 6 + 64 * 1024 < MAX_ENDED_BYTES) {
      return ended;
    }
    Message.Ended current = ended;
    while (MessageCodec.encode(current).length > MAX_ENDED_BYTES) {
      CapturedOutput out = current.stdout() == null ? CapturedOutput.EMPTY : current.stdout();
      CapturedOutput err = current.stderr() == null ? CapturedOutput.EMPTY : current.stderr();
      if (out.text().isEmpty() && err.text().isEmpty()) {
        return current;
      }
      if (out.text().length() >= err.text().length()) {
        out = halve(out);
      } else {
        err = halve(err);
      }
      current = new Message.Ended(current.jobId(), current.attempt(), current.outcome(), out, err);
    }
    return current;
  }

  private static long textLength(CapturedOutput output) {
    return output == null || output.text() == null ? 0 : output.text().length();
  }

  private static CapturedOutput halve(CapturedOutput output) {
    String text = output.text();
    int cut = text.length() / 2;
    if (cut > 0 && Character.isLowSurrogate(text.charAt(cut))) {
      cut++;
    }
    if (cut == 0) {
      cut = text.length();
    }
    long removed = text.substring(0, cut).getBytes(StandardCharsets.UTF_8).length;
    return new CapturedOutput(text.substring(cut), output.droppedBytes() + removed);
  }

  private String address() {
    return common.serverName() + ":" + common.serverPort();
  }

  private static String describe(IOException e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }

  private static String describe(JobOutcome outcome) {
    if (outcome.failure() != null) {
      return outcome.failure();
    }
    if (outcome.signal() != null) {
      return "killed by signal " + outcome.signal();
    }
    return "exit code " + outcome.exitCode();
  }
}
