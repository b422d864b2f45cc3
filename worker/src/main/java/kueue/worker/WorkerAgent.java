package kueue.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import kueue.config.KueueConfig;
import kueue.model.AttemptRef;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.SystemInfo;
import kueue.model.WorkerCapacity;
import kueue.model.WorkerDevice;
import kueue.model.WorkerResources;
import kueue.protocol.EncryptionMismatchException;
import kueue.protocol.Message;
import kueue.protocol.PeerConnection;
import kueue.protocol.ProtocolException;
import kueue.protocol.ServerKeyException;
import kueue.protocol.TransportSecurity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's side of the protocol: connects and registers, runs offered jobs, reports their start
 * and end, sends heartbeats, and reconnects with backoff when the connection is lost. What the
 * worker knows and decides about its jobs is in {@link WorkerCore}; this class is the I/O around it
 * (see docs/RECOVERY.md for the rules the core keeps).
 *
 * <p>Threads and what each owns:
 *
 * <ul>
 *   <li>the <b>worker-core</b> thread owns the core: every input is posted to its queue, and it
 *       carries out the core's actions (sends, kills, process starts handed to a launcher, closes,
 *       log lines). It also owns the map from session numbers to connections.
 *   <li>{@link #run()}'s thread connects, registers and reads messages, which it posts as inputs;
 *       it owns the connection's environment slots and checks offers' working directories.
 *   <li>launcher threads start processes and watch each for {@link #QUICK_END}; a job that runs
 *       longer is watched by a thread of its own. They post the start and the end.
 *   <li>the timer posts a contact check every {@link ContactLimits#checkPeriod()} and sends
 *       heartbeats on the registered connection (a heartbeat carries nothing of the core).
 *   <li>{@link #stop()} posts the stop and waits for the core to see its jobs gone.
 * </ul>
 *
 * The processes (handles to kill) are in a concurrent map: a launcher adds one, its watcher removes
 * it, the core thread kills by it. A kill the core asks for before the process is in the map is
 * asked for again when the process's start is posted.
 */
public final class WorkerAgent {
  private static final Logger log = LoggerFactory.getLogger(WorkerAgent.class);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REGISTER_TIMEOUT = Duration.ofSeconds(30);

  /**
   * A job that ends within this long of its start is watched by its launcher thread alone, and its
   * start and end are reported in one write, which the server stores in one transaction instead of
   * two; a longer job's start is reported that much later, which changes nothing for it.
   */
  static final Duration QUICK_END = Duration.ofMillis(10);

  static final int ENVIRONMENT_SLOTS = WorkerCore.ENVIRONMENT_SLOTS;

  private final KueueConfig.Common common;
  private final TransportSecurity transport;
  private final String name;
  private final Duration heartbeatInterval;
  private final ContactLimits limits;
  private final Duration shutdownWait;
  private final String software;
  private final ResourceProbe probe;

  /** Other programs' use of the machine; null in static mode, where only the totals count. */
  private final UsageMonitor usage;

  private final ProcessRunner runner;
  private final Backoff backoff;
  private final ScheduledExecutorService heartbeats;
  private final Reaper reaper;

  /** Null where the worker cannot be the subreaper of its jobs' processes. */
  private final Leftovers leftovers;

  /** Only ever touched on {@link #coreThread}. */
  private final WorkerCore core;

  private final ExecutorService coreThread =
      Executors.newSingleThreadExecutor(
          task -> Thread.ofPlatform().daemon().name("worker-core").unstarted(task));

  /** Connections by session number; only touched on {@link #coreThread}. */
  private final Map<Long, PeerConnection> sessions = new HashMap<>();

  private final Map<AttemptRef, RunningJob> processes = new ConcurrentHashMap<>();

  /** The devices of each attempt whose process is starting or running, by resource name. */
  private final Map<AttemptRef, Map<String, List<Integer>>> assignedDevices =
      new ConcurrentHashMap<>();

  private final GpuMonitor gpus;

  /** Runs nvidia-smi, which may take seconds, away from the heartbeats. */
  private final ScheduledExecutorService gpuProbes =
      Executors.newSingleThreadScheduledExecutor(
          task -> Thread.ofPlatform().daemon().name("gpu-probe").unstarted(task));

  private final OutputAnswers outputAnswers = new OutputAnswers();
  private long lastSession;

  private volatile boolean stopping;
  private final AtomicBoolean runStarted = new AtomicBoolean();
  private final AtomicBoolean stopStarted = new AtomicBoolean();

  private final CountDownLatch stopRequested = new CountDownLatch(1);
  private final CountDownLatch jobsGone = new CountDownLatch(1);
  private final CountDownLatch stopCompleted = new CountDownLatch(1);
  private final CountDownLatch runFinished = new CountDownLatch(1);

  /**
   * Starts job processes, so that the core goes on with the next input while a process starts
   * (posix_spawn returns only once the child has exec'd, which takes milliseconds on a busy
   * machine) and several jobs can start at once.
   */
  private static final ExecutorService LAUNCHERS =
      Executors.newCachedThreadPool(
          task -> Thread.ofPlatform().daemon().name("launch").unstarted(task));

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
    this.transport = TransportSecurity.forClient(common.encrypted(), common.serverKeyFile());
    this.name = workerName(settings, probe);
    this.limits = new ContactLimits(workerTimeout);
    this.heartbeatInterval = limits.heartbeatPeriod(settings.heartbeatInterval());
    this.shutdownWait = killGrace.plusSeconds(5);
    this.software = software;
    this.probe = probe;
    this.usage = settings.dynamicCheckFreeResources() ? new UsageMonitor() : null;
    this.runner = runner;
    this.backoff = backoff;
    this.heartbeats =
        Executors.newSingleThreadScheduledExecutor(
            task -> Thread.ofPlatform().daemon().name("heartbeat").unstarted(task));
    this.core =
        new WorkerCore(
            name,
            settings.workerMaxParallelJobs(),
            limits.killJobsAfter(),
            address(),
            System.nanoTime(),
            settings.timeLimitGrace());
    this.reaper = Reaper.start(killGrace);
    // Before the first job starts: only processes started after it are handed to the worker.
    this.leftovers =
        Subreaper.become()
            .map(calls -> new Leftovers(calls, settings.timeLimitGrace()))
            .orElse(null);
    this.gpus =
        new GpuMonitor(
            settings.devices(),
            System.getenv(),
            GpuMonitor.DEFAULT_TIMEOUT,
            this::heldGpus,
            this::jobsByPid);
  }

  private Set<Integer> heldGpus() {
    Set<Integer> held = new HashSet<>();
    for (Map<String, List<Integer>> devices : assignedDevices.values()) {
      held.addAll(devices.getOrDefault(WorkerResources.GPUS, List.of()));
    }
    return held;
  }

  private Map<Long, Long> jobsByPid() {
    Map<Long, Long> jobs = new HashMap<>();
    processes.forEach((ref, job) -> jobs.put(job.pid(), ref.jobId()));
    return jobs;
  }

  /** The machine's capacity with its measured use and the devices of the last GPU probe. */
  private WorkerCapacity capacity(SystemInfo system) {
    WorkerCapacity measured = probe.capacity(system, usage == null ? null : usage.current());
    List<WorkerDevice> devices = gpus.devices();
    return devices.isEmpty() ? measured : measured.withDevices(devices);
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
    return ask(WorkerCore::workerId);
  }

  Set<AttemptRef> runningAttempts() {
    return ask(WorkerCore::runningAttempts);
  }

  Set<AttemptRef> unconfirmedResults() {
    return ask(c -> Set.copyOf(c.unconfirmed().keySet()));
  }

  /** Attempts killed because the worker lost contact with the server, while they are dying. */
  Set<AttemptRef> lostAttempts() {
    return ask(WorkerCore::lostAttempts);
  }

  long reaperPid() {
    return reaper.pid();
  }

  /** Connects, serves and reconnects until {@link #stop()}; returns once stopped. */
  public void run() {
    if (!runStarted.compareAndSet(false, true)) {
      throw new IllegalStateException("the agent already runs");
    }
    if (!transport.encrypted()) {
      log.warn("encryption = \"none\": jobs and their output cross the network unencrypted");
    }
    // Before the first registration, so that the server knows the GPUs from the start and no job
    // runs here before it is known whether they must be hidden from it.
    gpus.refresh();
    if (usage != null) {
      usage.sample(System.nanoTime());
      long samplePeriod = UsageMonitor.SAMPLE_PERIOD.toMillis();
      // sample() never throws, which would cancel all later samples.
      heartbeats.scheduleWithFixedDelay(
          () -> usage.sample(System.nanoTime()), samplePeriod, samplePeriod, TimeUnit.MILLISECONDS);
    }
    long probePeriod = Math.max(1, heartbeatInterval.toMillis());
    gpuProbes.scheduleWithFixedDelay(
        this::refreshGpus, probePeriod, probePeriod, TimeUnit.MILLISECONDS);
    long check = limits.checkPeriod().toMillis();
    heartbeats.scheduleWithFixedDelay(
        () -> post(new WorkerInput.Tick()), check, check, TimeUnit.MILLISECONDS);
    if (leftovers != null) {
      long collect = Math.max(check, 1000);
      heartbeats.scheduleWithFixedDelay(
          this::collectEndedLeftovers, collect, collect, TimeUnit.MILLISECONDS);
    }
    try {
      while (!stopping) {
        PeerConnection server = connect();
        if (server == null) {
          continue;
        }
        long session = ++lastSession;
        try {
          serve(server, session);
        } catch (IOException | ProtocolException e) {
          if (!stopping) {
            log.warn("connection to server {} lost: {}", address(), e.getMessage());
          }
        } catch (RuntimeException e) {
          log.error("unexpected error on the connection to server {}; reconnecting", address(), e);
        } finally {
          server.close();
          onCoreThread(
              () -> {
                apply(new WorkerInput.ConnectionLost(session));
                sessions.remove(session);
              });
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
      gpuProbes.shutdownNow();
      outputAnswers.close();
      reaper.close();
      coreThread.shutdown();
      runFinished.countDown();
    }
  }

  /**
   * Stops taking work, kills all running jobs (TERM, then KILL after the grace period), and closes
   * the connection without reporting those jobs, so the server requeues them at once. Waits until
   * that is done and {@link #run()} has returned. Safe to call more than once and from any thread.
   */
  public void stop() {
    if (stopStarted.compareAndSet(false, true)) {
      stopping = true;
      stopRequested.countDown();
      post(new WorkerInput.StopRequested());
      await(jobsGone, shutdownWait);
      CountDownLatch released = new CountDownLatch(1);
      onCoreThread(
          () -> {
            apply(new WorkerInput.StopWaitOver());
            released.countDown();
          });
      await(released, CONNECT_TIMEOUT);
      heartbeats.shutdownNow();
      stopCompleted.countDown();
    } else {
      await(stopCompleted, shutdownWait.plusSeconds(5));
    }
    if (runStarted.get() && !await(runFinished, CONNECT_TIMEOUT.plusSeconds(5))) {
      log.warn("the connection loop did not stop in time");
    }
  }

  // ---- the core thread

  private void post(WorkerInput input) {
    onCoreThread(() -> apply(input));
  }

  private void onCoreThread(Runnable task) {
    try {
      coreThread.execute(task);
    } catch (RejectedExecutionException e) {
      // The agent has stopped: nothing is left to tell the core.
    }
  }

  /** Runs on the core thread: hands the input to the core and carries out what it decides. */
  private void apply(WorkerInput input) {
    List<WorkerAction> actions;
    try {
      actions = core.handle(input, System.nanoTime());
    } catch (RuntimeException e) {
      log.error("the worker's core failed on {}", input, e);
      return;
    }
    for (WorkerAction action : actions) {
      try {
        carryOut(action);
      } catch (RuntimeException e) {
        log.error("carrying out {} failed", action, e);
      }
    }
    if (core.stopping() && core.attempts().isEmpty()) {
      jobsGone.countDown();
    }
  }

  private void carryOut(WorkerAction action) {
    switch (action) {
      case WorkerAction.Send send -> send(send);
      case WorkerAction.StartProcess start -> {
        if (!start.devices().isEmpty()) {
          assignedDevices.put(start.ref(), start.devices());
        }
        LAUNCHERS.execute(() -> launch(start.ref(), start.spec(), start.devices()));
      }
      case WorkerAction.KillProcess kill -> {
        RunningJob job = processes.get(kill.ref());
        if (job != null) {
          job.kill();
        }
      }
      case WorkerAction.SignalProcess signal -> {
        RunningJob job = processes.get(signal.ref());
        if (job != null) {
          job.signal(signal.force() ? ProcessSignals.Signal.KILL : ProcessSignals.Signal.TERM);
        }
      }
      case WorkerAction.AnswerOutput answer -> answerOutput(answer);
      case WorkerAction.CloseConnection close -> {
        PeerConnection connection = sessions.get(close.session());
        if (connection != null) {
          connection.close();
        }
      }
      case WorkerAction.Log line -> {
        switch (line.level()) {
          case DEBUG -> log.debug(line.text());
          case INFO -> log.info(line.text());
          case WARN -> log.warn(line.text());
        }
      }
    }
  }

  private void send(WorkerAction.Send send) {
    PeerConnection connection = sessions.get(send.session());
    if (connection == null) {
      return; // closed meanwhile: what is unconfirmed goes with the next registration
    }
    try {
      if (send.messages().size() == 1) {
        connection.send(send.messages().getFirst());
      } else {
        connection.sendAll(send.messages());
      }
    } catch (IOException | RuntimeException e) {
      // The reader finds the connection closed and reconnects; the registration lists the jobs
      // and carries the results.
      log.warn("cannot send to server {} ({}); reconnecting", address(), e.getMessage());
      connection.close();
    }
  }

  private void answerOutput(WorkerAction.AnswerOutput answer) {
    PeerConnection connection = sessions.get(answer.session());
    if (connection == null) {
      return; // the server asks again once it hears from this worker
    }
    Message.OutputRequest request = answer.request();
    RunningJob job = processes.get(new AttemptRef(request.jobId(), request.attempt()));
    if (job != null) {
      outputAnswers.answer(connection, request, job.output());
      return;
    }
    // Ended meanwhile: its result is on the way, and with it what is kept of the output.
    send(new WorkerAction.Send(answer.session(), WorkerCore.notHere(request)));
  }

  /** A query of the core's state, answered on its thread (for tests and status). */
  private <T> T ask(Function<WorkerCore, T> query) {
    try {
      return coreThread.submit(() -> query.apply(core)).get();
    } catch (RejectedExecutionException e) {
      // Stopped: once the thread has ended, its state may be read from here.
      try {
        coreThread.awaitTermination(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
      }
      return query.apply(core);
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---- processes

  private void collectEndedLeftovers() {
    try {
      leftovers.collectEnded();
    } catch (RuntimeException e) {
      // An exception would cancel all later collections.
      log.warn("cannot collect ended leftover processes", e);
    }
  }

  private void refreshGpus() {
    try {
      gpus.refresh();
    } catch (RuntimeException e) {
      // An exception would cancel all later probes.
      log.warn("cannot probe the GPUs", e);
    }
  }

  private void launch(AttemptRef ref, JobSpec spec, Map<String, List<Integer>> devices) {
    RunningJob job;
    try {
      List<String> deviceVariables =
          DeviceEnvironment.variables(spec, devices, gpus.hasGpus(), gpus.settings());
      job =
          leftovers == null
              ? runner.startToWatch(ref, spec, deviceVariables)
              : leftovers.start(
                  () -> runner.startToWatch(ref, spec, deviceVariables), RunningJob::pid);
    } catch (RuntimeException e) {
      log.error("job {} attempt {} cannot start", ref.jobId(), ref.attempt(), e);
      job =
          RunningJob.notStarted(
              ref, new JobOutcome(null, null, "cannot start: " + e, null, Instant.now()));
    }
    boolean tracked = job.pid() > 0 && !job.hasEnded();
    if (tracked) {
      reaper.track(job.pid());
      processes.put(ref, job);
    }
    // Also hands the job to a thread of its own if it runs longer.
    JobResult quick = job.watchFor(job.started() == null ? Duration.ZERO : QUICK_END);
    boolean keep = spec.keepChildren();
    if (quick != null) {
      ended(ref, job, tracked, keep, quick);
      return;
    }
    post(new WorkerInput.ProcessStarted(ref, job.started()));
    // Registered only now so that the end can never overtake the start.
    RunningJob watched = job;
    job.result().thenAccept(result -> ended(ref, watched, tracked, keep, result));
  }

  private void ended(
      AttemptRef ref, RunningJob job, boolean tracked, boolean keep, JobResult result) {
    if (leftovers != null && job.pid() > 0) {
      // Before the end is posted: the job's slots stay taken until what it left is gone, and
      // the reaper shell still knows its group should the worker die meanwhile.
      try {
        leftovers.jobEnded(ref.jobId(), job.pid(), keep);
      } catch (RuntimeException e) {
        log.warn("job {}: ending what it left running failed", ref.jobId(), e);
      }
    }
    assignedDevices.remove(ref);
    if (tracked) {
      processes.remove(ref);
      reaper.untrack(job.pid());
    }
    post(new WorkerInput.ProcessEnded(ref, result));
  }

  // ---- the connection

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
    } catch (ServerKeyException e) {
      if (e.reason() == ServerKeyException.Reason.MISMATCH) {
        // Another program holds the port, so the real server is not listening there and cannot
        // be giving our jobs to other workers: as with a refused connection, the jobs run on.
        post(new WorkerInput.ConnectionRefused());
      }
      retryLater("cannot trust server " + address() + ": " + e.getMessage(), true);
      return null;
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
        post(new WorkerInput.ConnectionRefused());
      }
      retryLater("cannot reach server " + address() + ": " + describe(e), false);
      return null;
    }
    if (stopping) {
      server.close();
      return null;
    }
    return server;
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

  private void serve(PeerConnection server, long session) throws IOException, ProtocolException {
    SystemInfo system = probe.systemInfo();
    WorkerInput.Connected connected = new WorkerInput.Connected(session, system, capacity(system));
    server.setReceiveTimeout(REGISTER_TIMEOUT);
    // The core writes the registration, and a result that ends meanwhile follows Registered.
    onCoreThread(
        () -> {
          sessions.put(session, server);
          apply(connected);
        });
    Message reply = server.receive();
    if (reply instanceof Message.Failure failure) {
      throw new ProtocolException("the server refused the registration: " + failure.message());
    }
    if (!(reply instanceof Message.Registered registration)) {
      throw new ProtocolException("expected Registered, got " + reply.getClass().getSimpleName());
    }
    // The server answers every heartbeat: a connection silent for longer has died somewhere on
    // the way, even if TCP has not noticed.
    server.setReceiveTimeout(limits.reconnectAfter());
    post(new WorkerInput.Registered(session, registration.workerId()));
    backoff.reset();
    long period = Math.max(1, heartbeatInterval.toMillis());
    ScheduledFuture<?> heartbeat =
        heartbeats.scheduleWithFixedDelay(
            () -> sendHeartbeat(server), period, period, TimeUnit.MILLISECONDS);
    @SuppressWarnings({"unchecked", "rawtypes"}) // an array of a generic type cannot be created
    Map<String, String>[] environments = new Map[ENVIRONMENT_SLOTS];
    try {
      while (true) {
        receiveOne(server, session, environments);
      }
    } finally {
      heartbeat.cancel(false);
    }
  }

  /**
   * Its own method so that the JIT compiles it: the loop around it runs once per connection and
   * would stay interpreted.
   */
  private void receiveOne(PeerConnection server, long session, Map<String, String>[] environments)
      throws IOException, ProtocolException {
    Message message = server.receive();
    if (message instanceof Message.Offer offer && offer.envSlot() != null) {
      message = withEnvironment(offer, environments);
    }
    post(
        switch (message) {
          case Message.Offer offer ->
              new WorkerInput.OfferReceived(session, offer, checkOffer(offer));
          case Message.Kill kill -> new WorkerInput.KillReceived(session, kill);
          case Message.ResultStored stored -> new WorkerInput.ResultStoredReceived(session, stored);
          case Message.OutputRequest request -> new WorkerInput.OutputRequested(session, request);
          default -> new WorkerInput.OtherReceived(session, message);
        });
  }

  /** The problem with the offer's working directory, checked here since it takes file I/O. */
  private String checkOffer(Message.Offer offer) {
    JobSpec spec = offer.spec();
    return spec == null || spec.argv() == null ? null : directoryProblem(spec.cwd());
  }

  /**
   * The offer with its environment: the one it carries, which its slot keeps from now on, or the
   * one its slot kept.
   */
  static Message.Offer withEnvironment(Message.Offer offer, Map<String, String>[] environments)
      throws ProtocolException {
    int slot = offer.envSlot();
    if (slot < 0 || slot >= environments.length) {
      throw new ProtocolException(
          "offer names environment slot " + slot + " of " + environments.length);
    }
    JobSpec spec = offer.spec();
    if (spec == null) {
      return offer;
    }
    if (spec.env() != null) {
      environments[slot] = spec.env();
      return offer.withSpec(spec, null);
    }
    Map<String, String> env = environments[slot];
    if (env == null) {
      throw new ProtocolException("offer names environment slot " + slot + ", which holds none");
    }
    return offer.withSpec(spec.withEnv(env), null);
  }

  private void sendHeartbeat(PeerConnection server) {
    try {
      SystemInfo system = probe.systemInfo();
      server.send(new Message.Heartbeat(system, capacity(system)));
    } catch (IOException e) {
      log.debug("heartbeat failed: {}", e.getMessage());
      server.close();
    } catch (RuntimeException e) {
      // An exception would cancel all later heartbeats of this connection.
      log.warn("cannot send heartbeat", e);
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

  private String address() {
    return common.serverName() + ":" + common.serverPort();
  }

  private static String describe(IOException e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
