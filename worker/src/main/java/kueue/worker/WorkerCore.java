package kueue.worker;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import kueue.model.AttemptRef;
import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.WorkerResources;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.worker.WorkerAction.AnswerOutput;
import kueue.worker.WorkerAction.CloseConnection;
import kueue.worker.WorkerAction.KillProcess;
import kueue.worker.WorkerAction.Level;
import kueue.worker.WorkerAction.Log;
import kueue.worker.WorkerAction.Send;
import kueue.worker.WorkerAction.SignalProcess;
import kueue.worker.WorkerAction.StartProcess;
import kueue.worker.WorkerInput.Connected;
import kueue.worker.WorkerInput.ConnectionLost;
import kueue.worker.WorkerInput.ConnectionRefused;
import kueue.worker.WorkerInput.KillReceived;
import kueue.worker.WorkerInput.OfferReceived;
import kueue.worker.WorkerInput.OtherReceived;
import kueue.worker.WorkerInput.OutputRequested;
import kueue.worker.WorkerInput.ProcessEnded;
import kueue.worker.WorkerInput.ProcessStarted;
import kueue.worker.WorkerInput.Registered;
import kueue.worker.WorkerInput.ResultStoredReceived;
import kueue.worker.WorkerInput.StopRequested;
import kueue.worker.WorkerInput.StopWaitOver;
import kueue.worker.WorkerInput.Tick;

/**
 * Everything the worker knows about its attempts and its standing with the server, and every
 * decision it takes about them: which offers it accepts, what it reports and when, which jobs it
 * kills. It does no I/O and reads no clock: each input comes with the time ({@link
 * System#nanoTime()} of the caller), and the answer is the list of actions for the shell to carry
 * out. One thread owns it (see {@link WorkerAgent}).
 *
 * <p>An attempt on this worker is, at any moment, in exactly one of these states:
 *
 * <ul>
 *   <li><b>starting</b>: accepted, its slots taken, its process being started (or watched for
 *       {@link WorkerAgent#QUICK_END} by the launcher, whose Started is not sent yet);
 *   <li><b>running</b>: its process runs and its Started was sent;
 *   <li><b>unconfirmed</b>: ended, its Ended kept and reported on every registration until the
 *       server answers result_stored;
 *   <li><b>released</b>: killed by the worker's stop and ended; reported as Released before the
 *       connection closes, so the server places it again at once;
 * </ul>
 *
 * and a starting or running attempt may carry the marks: kill wanted, killed by stop, or killed
 * because contact with the server was lost. An attempt killed for lost contact is never reported or
 * claimed again: the server may already run it elsewhere. Once ended it is forgotten.
 *
 * <p>Contact (see docs/RECOVERY.md): a registration or any message on a registered connection, or a
 * refused connection attempt (nothing listens: the server is down and cannot place our jobs
 * elsewhere). A handshake alone is none. After {@link ContactLimits#killJobsAfter()} without
 * contact every job is killed.
 */
final class WorkerCore {
  /** No session: not connected, or not registered. */
  static final long NONE = -1;

  /**
   * Environments of offers kept per connection, so that the server sends each only once while it is
   * in use (an environment is often several kilobytes, against a hundred bytes for the rest).
   */
  static final int ENVIRONMENT_SLOTS = 32;

  /** A single result must stay well below the server's message limit, whatever the output cap. */
  private static final int MAX_ENDED_BYTES = MessageCodec.MAX_MESSAGE_BYTES / 2;

  /** Results that do not fit into Register are listed as running and sent one by one after it. */
  static final int MAX_REGISTER_ENDED_BYTES = MessageCodec.MAX_MESSAGE_BYTES / 2;

  /** An attempt without a time limit. */
  private static final long NO_LIMIT = Long.MAX_VALUE;

  enum Phase {
    STARTING,
    RUNNING
  }

  /** An attempt that holds slots on this worker: starting or running. */
  static final class Attempt {
    final AttemptRef ref;
    final int slots;

    /** Device indices by resource name, and the share of each of them in thousandths. */
    final Map<String, List<Integer>> devices;

    final Map<String, Integer> shares;

    /** The session the offer came on, where its Started goes. */
    final long offeredOn;

    Phase phase = Phase.STARTING;
    Instant startedAt;
    boolean killWanted;
    boolean killedByStop;
    boolean contactLost;

    /** When the worker accepted it (its clock), from which its time limit counts. */
    final long acceptedAt;

    /** Its time limit in nanoseconds, or NO_LIMIT. */
    final long limitNanos;

    /** It reached its time limit and got TERM at timedOutAt; its result says so. */
    boolean timedOut;

    long timedOutAt;

    /** It got KILL after the grace period of its time limit. */
    boolean forced;

    Attempt(
        AttemptRef ref,
        int slots,
        long offeredOn,
        long acceptedAt,
        long limitNanos,
        Map<String, List<Integer>> devices,
        Map<String, Integer> shares) {
      this.ref = ref;
      this.slots = slots;
      this.offeredOn = offeredOn;
      this.acceptedAt = acceptedAt;
      this.limitNanos = limitNanos;
      this.devices = devices;
      this.shares = shares;
    }

    boolean mustDie() {
      return killWanted || killedByStop || contactLost;
    }
  }

  private final String name;
  private final int maxSlots;
  private final long killJobsAfterNanos;
  private final String serverAddress;
  private final long timeLimitGraceNanos;

  private final Map<AttemptRef, Attempt> attempts = new LinkedHashMap<>();
  private final Map<AttemptRef, Message.Ended> unconfirmed = new LinkedHashMap<>();
  private final List<AttemptRef> released = new ArrayList<>();
  private int slotsUsed;

  private long lastContact;
  private long connectedSession = NONE;
  private long registeredSession = NONE;
  private long workerId = -1;

  /** Results the registration of the connected session carries; the rest follow Registered. */
  private Set<AttemptRef> sentInRegister = Set.of();

  private boolean stopping;

  /**
   * @param killJobsAfter without contact for this long, every job is killed
   * @param serverAddress for log lines only
   * @param now the time the worker starts, which counts as contact
   */
  WorkerCore(String name, int maxSlots, Duration killJobsAfter, String serverAddress, long now) {
    this(
        name,
        maxSlots,
        killJobsAfter,
        serverAddress,
        now,
        kueue.config.KueueConfig.Worker.DEFAULT_TIME_LIMIT_GRACE);
  }

  /**
   * @param timeLimitGrace from TERM to KILL for a job that reached its time limit
   */
  WorkerCore(
      String name,
      int maxSlots,
      Duration killJobsAfter,
      String serverAddress,
      long now,
      Duration timeLimitGrace) {
    this.timeLimitGraceNanos = timeLimitGrace.toNanos();
    this.name = name;
    this.maxSlots = maxSlots;
    this.killJobsAfterNanos = killJobsAfter.toNanos();
    this.serverAddress = serverAddress;
    this.lastContact = now;
  }

  /** Takes one input at time now; returns what to do, in order. */
  List<WorkerAction> handle(WorkerInput input, long now) {
    List<WorkerAction> actions = new ArrayList<>(2);
    switch (input) {
      case OfferReceived offer -> offer(offer, now, actions);
      case ProcessStarted started -> processStarted(started, actions);
      case ProcessEnded ended -> processEnded(ended, actions);
      case ResultStoredReceived stored -> {
        contact(stored.session(), now);
        unconfirmed.remove(new AttemptRef(stored.stored().jobId(), stored.stored().attempt()));
      }
      case KillReceived kill -> kill(kill, now, actions);
      case OtherReceived other -> other(other, now, actions);
      case OutputRequested requested -> outputRequested(requested, now, actions);
      case Tick tick -> {
        checkTimeLimits(now, actions);
        checkContact(now, actions);
      }
      case Connected connected -> connected(connected, actions);
      case Registered registered -> registered(registered, now, actions);
      case ConnectionLost lost -> {
        if (registeredSession == lost.session()) {
          registeredSession = NONE;
          workerId = -1;
        }
        if (connectedSession == lost.session()) {
          connectedSession = NONE;
          sentInRegister = Set.of();
        }
      }
      case ConnectionRefused refused -> lastContact = now;
      case StopRequested request -> stop(actions);
      case StopWaitOver over -> release(actions);
    }
    return actions;
  }

  // ---- queries

  /** The id the server gave this worker on the current connection, or -1 while not registered. */
  long workerId() {
    return registeredSession == NONE ? -1 : workerId;
  }

  long registeredSession() {
    return registeredSession;
  }

  long connectedSession() {
    return connectedSession;
  }

  boolean stopping() {
    return stopping;
  }

  int maxSlots() {
    return maxSlots;
  }

  int slotsUsed() {
    return slotsUsed;
  }

  long lastContact() {
    return lastContact;
  }

  /** Attempts holding slots (starting or running), in the order they were accepted. */
  Map<AttemptRef, Attempt> attempts() {
    return Collections.unmodifiableMap(attempts);
  }

  Set<AttemptRef> runningAttempts() {
    return Set.copyOf(attempts.keySet());
  }

  Map<AttemptRef, Message.Ended> unconfirmed() {
    return Collections.unmodifiableMap(unconfirmed);
  }

  List<AttemptRef> released() {
    return List.copyOf(released);
  }

  /** Attempts killed because the worker lost contact with the server, while they are dying. */
  Set<AttemptRef> lostAttempts() {
    Set<AttemptRef> lost = new HashSet<>();
    attempts
        .values()
        .forEach(
            a -> {
              if (a.contactLost) {
                lost.add(a.ref);
              }
            });
    return lost;
  }

  // ---- inputs

  private void contact(long session, long now) {
    if (session == registeredSession) {
      lastContact = now;
    }
  }

  private void offer(OfferReceived input, long now, List<WorkerAction> actions) {
    long session = input.session();
    contact(session, now);
    Message.Offer offer = input.offer();
    AttemptRef ref = new AttemptRef(offer.jobId(), offer.attempt());
    JobSpec spec = offer.spec();
    Attempt current = attempts.get(ref);
    if (stopping) {
      decline(session, ref, false, "worker " + name + " is shutting down", actions);
      return;
    }
    if (current != null) {
      // Still starting: the start is reported once the process runs. Given up for lost contact:
      // neither claimed nor reported any more.
      if (current.phase == Phase.RUNNING && !current.contactLost) {
        actions.add(
            new Send(session, new Message.Started(ref.jobId(), ref.attempt(), current.startedAt)));
      }
      return;
    }
    Message.Ended result = unconfirmed.get(ref);
    if (result != null) {
      actions.add(new Send(session, result));
      return;
    }
    Attempt older = olderAttempt(ref);
    if (older != null) {
      // The server has given that attempt up; it must be gone before this one may start.
      older.killWanted = true;
      actions.add(new KillProcess(older.ref));
      log(
          actions,
          Level.INFO,
          "job "
              + ref.jobId()
              + ": killing attempt "
              + older.ref.attempt()
              + " before attempt "
              + ref.attempt()
              + " may run");
      decline(
          session,
          ref,
          false,
          "attempt " + older.ref.attempt() + " of this job is still stopping on " + name,
          actions);
      return;
    }
    if (spec == null || spec.argv() == null) {
      decline(session, ref, true, "the offer carries no job", actions);
      return;
    }
    if (input.directoryProblem() != null) {
      log(actions, Level.INFO, "declining job " + ref.jobId() + ": " + input.directoryProblem());
      decline(session, ref, true, input.directoryProblem(), actions);
      return;
    }
    if (slotsUsed + spec.slots() > maxSlots) {
      decline(
          session,
          ref,
          false,
          "no free job slots on " + name + " (" + slotsUsed + " of " + maxSlots + " used)",
          actions);
      return;
    }
    Map<String, List<Integer>> devices = offer.assigned();
    Map<String, Integer> shares = shares(spec, devices);
    String conflict = deviceConflict(devices, shares);
    if (conflict != null) {
      log(actions, Level.INFO, "declining job " + ref.jobId() + ": " + conflict);
      decline(session, ref, false, conflict, actions);
      return;
    }
    // Taken now: the slots must count for the next offer even before the process exists.
    attempts.put(
        ref, new Attempt(ref, spec.slots(), session, now, limitNanos(spec), devices, shares));
    slotsUsed += spec.slots();
    actions.add(new StartProcess(ref, spec, devices));
  }

  /** The share of each assigned device the job takes, in thousandths, by resource name. */
  private static Map<String, Integer> shares(JobSpec spec, Map<String, List<Integer>> devices) {
    if (devices.isEmpty()) {
      return Map.of();
    }
    Map<String, Integer> shares = new HashMap<>();
    for (String resource : devices.keySet()) {
      Double amount = spec.workerResources().get(resource);
      shares.put(
          resource,
          amount == null
              ? WorkerResources.WHOLE
              : WorkerResources.sharePerDevice(WorkerResources.thousandths(amount)));
    }
    return shares;
  }

  /**
   * Why the devices cannot be given to another attempt: one of them would be shared beyond one
   * whole device with the attempts still here (a killed one whose process has not ended yet
   * included). Null when they can.
   */
  private String deviceConflict(Map<String, List<Integer>> devices, Map<String, Integer> shares) {
    for (Map.Entry<String, List<Integer>> assigned : devices.entrySet()) {
      String resource = assigned.getKey();
      for (int index : assigned.getValue()) {
        int taken = deviceShare(resource, index);
        if (taken + shares.get(resource) > WorkerResources.WHOLE) {
          return WorkerResources.deviceWord(resource)
              + " "
              + index
              + " on "
              + name
              + " is still used by "
              + holders(resource, index);
        }
      }
    }
    return null;
  }

  /** Thousandths of the device held by attempts on this worker. */
  int deviceShare(String resource, int index) {
    int taken = 0;
    for (Attempt attempt : attempts.values()) {
      List<Integer> indices = attempt.devices.get(resource);
      if (indices != null && indices.contains(index)) {
        taken += attempt.shares.get(resource);
      }
    }
    return taken;
  }

  private String holders(String resource, int index) {
    List<String> jobs = new ArrayList<>();
    for (Attempt attempt : attempts.values()) {
      List<Integer> indices = attempt.devices.get(resource);
      if (indices != null && indices.contains(index)) {
        jobs.add("job " + attempt.ref.jobId());
      }
    }
    return String.join(", ", jobs);
  }

  private static long limitNanos(JobSpec spec) {
    Long seconds = spec.timeLimitSeconds();
    if (seconds == null || seconds <= 0 || seconds > NO_LIMIT / 1_000_000_000L) {
      return NO_LIMIT;
    }
    return seconds * 1_000_000_000L;
  }

  private Attempt olderAttempt(AttemptRef ref) {
    for (Attempt attempt : attempts.values()) {
      if (attempt.ref.jobId() == ref.jobId() && attempt.ref.attempt() != ref.attempt()) {
        return attempt;
      }
    }
    return null;
  }

  private void processStarted(ProcessStarted input, List<WorkerAction> actions) {
    Attempt attempt = attempts.get(input.ref());
    if (attempt == null || attempt.phase != Phase.STARTING) {
      throw new IllegalStateException(
          "process start of " + input.ref() + ", which is not starting");
    }
    attempt.phase = Phase.RUNNING;
    attempt.startedAt = input.at();
    if (attempt.mustDie()) {
      // A kill that came while there was no process to kill yet.
      actions.add(new KillProcess(attempt.ref));
    }
    if (!attempt.contactLost && attempt.offeredOn == registeredSession && input.at() != null) {
      actions.add(new Send(registeredSession, started(attempt.ref, input.at())));
    }
  }

  private void processEnded(ProcessEnded input, List<WorkerAction> actions) {
    AttemptRef ref = input.ref();
    Attempt attempt = attempts.remove(ref);
    if (attempt == null) {
      throw new IllegalStateException("process end of " + ref + ", which holds no slots");
    }
    slotsUsed -= attempt.slots;
    JobResult result = input.result();
    // The start of a job that ended within the launcher's watch is reported with its end.
    Message.Started started =
        attempt.phase == Phase.STARTING
                && result.outcome().started() != null
                && attempt.offeredOn == registeredSession
            ? started(ref, result.outcome().started())
            : null;
    if (attempt.contactLost) {
      log(
          actions,
          Level.INFO,
          "job "
              + ref.jobId()
              + " attempt "
              + ref.attempt()
              + " was killed after contact with the"
              + " server was lost; the server runs it again");
      return;
    }
    // One stopped at its time limit has had its run: its result goes to the server, which would
    // otherwise run a released job again.
    if (attempt.killedByStop && !attempt.timedOut) {
      if (started != null) {
        actions.add(new Send(registeredSession, started));
      }
      log(
          actions,
          Level.INFO,
          "job " + ref.jobId() + " attempt " + ref.attempt() + " killed by shutdown");
      released.add(ref);
      return;
    }
    JobOutcome outcome = attempt.timedOut ? result.outcome().asTimedOut() : result.outcome();
    Message.Ended ended =
        fitForWire(
            new Message.Ended(
                ref.jobId(), ref.attempt(), outcome, result.stdout(), result.stderr()));
    unconfirmed.put(ref, ended);
    if (registeredSession != NONE) {
      // One write for both, which the server stores in one transaction.
      actions.add(
          new Send(registeredSession, started == null ? List.of(ended) : List.of(started, ended)));
    }
    // The log line comes after the result is on its way: the server offers the freed slot as
    // soon as the result arrives, and formatting and writing the line takes a while.
    log(
        actions,
        Level.INFO,
        "job " + ref.jobId() + " attempt " + ref.attempt() + " ended: " + describe(outcome));
    if (registeredSession == NONE) {
      log(
          actions,
          Level.INFO,
          "job "
              + ref.jobId()
              + " attempt "
              + ref.attempt()
              + ": result will be reported after reconnecting");
    }
  }

  private void kill(KillReceived input, long now, List<WorkerAction> actions) {
    contact(input.session(), now);
    Message.Kill kill = input.kill();
    AttemptRef ref = new AttemptRef(kill.jobId(), kill.attempt());
    Attempt attempt = attempts.get(ref);
    if (attempt == null) {
      log(
          actions,
          Level.DEBUG,
          "ignoring kill for job "
              + ref.jobId()
              + " attempt "
              + ref.attempt()
              + ": not running here");
      return;
    }
    log(
        actions,
        Level.INFO,
        "killing job " + ref.jobId() + " attempt " + ref.attempt() + ": " + kill.reason());
    attempt.killWanted = true;
    actions.add(new KillProcess(ref));
  }

  /**
   * Output is given only of an attempt that runs here and is still ours: one given up for lost
   * contact may already run elsewhere, and one that ended is the server's to tell about.
   */
  private void outputRequested(OutputRequested input, long now, List<WorkerAction> actions) {
    contact(input.session(), now);
    Message.OutputRequest request = input.request();
    Attempt attempt = attempts.get(new AttemptRef(request.jobId(), request.attempt()));
    if (attempt != null && attempt.phase == Phase.RUNNING && !attempt.contactLost) {
      actions.add(new AnswerOutput(input.session(), request));
    } else {
      actions.add(new Send(input.session(), notHere(request)));
    }
  }

  /** The answer to an output request for an attempt whose process is not here. */
  static Message.Output notHere(Message.OutputRequest request) {
    return new Message.Output(
        request.requestId(), request.jobId(), request.attempt(), false, false, List.of(), 0, 0);
  }

  private void other(OtherReceived input, long now, List<WorkerAction> actions) {
    contact(input.session(), now);
    switch (input.message()) {
      case Message.HeartbeatAck ack -> {
        // its arrival is all that counts
      }
      case Message.Failure failure ->
          log(
              actions,
              Level.WARN,
              "server reported a failure (" + failure.code() + "): " + failure.message());
      default ->
          log(
              actions,
              Level.WARN,
              "ignoring unexpected "
                  + input.message().getClass().getSimpleName()
                  + " from the server");
    }
  }

  /**
   * A running attempt that has run for its time limit gets TERM, and KILL once the grace period
   * after it is over. Enforced here, not by the server, so that the limit holds while the server is
   * away. Attempts being killed for another reason are left to that kill.
   */
  private void checkTimeLimits(long now, List<WorkerAction> actions) {
    for (Attempt attempt : attempts.values()) {
      if (attempt.limitNanos == NO_LIMIT || attempt.phase != Phase.RUNNING || attempt.forced) {
        continue;
      }
      if (!attempt.timedOut) {
        if (attempt.mustDie() || now - attempt.acceptedAt < attempt.limitNanos) {
          continue;
        }
        attempt.timedOut = true;
        attempt.timedOutAt = now;
        actions.add(new SignalProcess(attempt.ref, false));
        log(
            actions,
            Level.INFO,
            "job "
                + attempt.ref.jobId()
                + " attempt "
                + attempt.ref.attempt()
                + " reached its time limit of "
                + attempt.limitNanos / 1_000_000_000L
                + " s: sending TERM, KILL in "
                + TimeUnit.NANOSECONDS.toSeconds(timeLimitGraceNanos)
                + " s");
      } else if (now - attempt.timedOutAt >= timeLimitGraceNanos) {
        attempt.forced = true;
        actions.add(new SignalProcess(attempt.ref, true));
        log(
            actions,
            Level.INFO,
            "job "
                + attempt.ref.jobId()
                + " attempt "
                + attempt.ref.attempt()
                + " still runs after its time limit's grace period: sending KILL");
      }
    }
  }

  /**
   * Kills every job once the server may have given up on this worker: no contact for half the
   * worker timeout.
   */
  private void checkContact(long now, List<WorkerAction> actions) {
    long silent = now - lastContact;
    if (stopping || silent < killJobsAfterNanos) {
      return;
    }
    int victims = 0;
    for (Attempt attempt : attempts.values()) {
      if (!attempt.contactLost) {
        attempt.contactLost = true;
        actions.add(new KillProcess(attempt.ref));
        victims++;
      }
    }
    if (victims > 0) {
      log(
          actions,
          Level.WARN,
          "no contact with server "
              + serverAddress
              + " for "
              + TimeUnit.NANOSECONDS.toMillis(silent)
              + " ms: killing "
              + victims
              + " job(s), the server will run them again");
    }
  }

  private void connected(Connected input, List<WorkerAction> actions) {
    long session = input.session();
    if (stopping) {
      actions.add(new CloseConnection(session));
      return;
    }
    connectedSession = session;
    registeredSession = NONE;
    workerId = -1;
    List<AttemptRef> running = new ArrayList<>(attempts.size());
    for (Attempt attempt : attempts.values()) {
      // Attempts given up as lost are not claimed: the server runs them again.
      if (!attempt.contactLost) {
        running.add(attempt.ref);
      }
    }
    List<Message.Ended> ended = new ArrayList<>();
    Set<AttemptRef> carried = new HashSet<>();
    long budget = MAX_REGISTER_ENDED_BYTES;
    for (Map.Entry<AttemptRef, Message.Ended> result : unconfirmed.entrySet()) {
      int size = MessageCodec.encode(result.getValue()).length;
      if (size <= budget) {
        budget -= size;
        ended.add(result.getValue());
        carried.add(result.getKey());
      } else {
        running.add(result.getKey());
      }
    }
    sentInRegister = carried;
    actions.add(
        new Send(
            session,
            new Message.Register(
                name, input.system(), input.capacity(), running, ended, ENVIRONMENT_SLOTS)));
  }

  private void registered(Registered input, long now, List<WorkerAction> actions) {
    long session = input.session();
    if (session != connectedSession) {
      return;
    }
    registeredSession = session;
    workerId = input.workerId();
    lastContact = now;
    int results = unconfirmed.size();
    log(
        actions,
        Level.INFO,
        "registered with server "
            + serverAddress
            + " as worker "
            + workerId
            + " \""
            + name
            + "\" ("
            + attempts.size()
            + " running, "
            + results
            + " results to confirm)");
    // A result that ended after the registration was written, or did not fit into it.
    for (Map.Entry<AttemptRef, Message.Ended> result : unconfirmed.entrySet()) {
      if (!sentInRegister.contains(result.getKey())) {
        actions.add(new Send(session, result.getValue()));
      }
    }
    sentInRegister = Set.of();
  }

  private void stop(List<WorkerAction> actions) {
    if (stopping) {
      return;
    }
    stopping = true;
    for (Attempt attempt : attempts.values()) {
      attempt.killedByStop = true;
      actions.add(new KillProcess(attempt.ref));
    }
    if (!attempts.isEmpty()) {
      log(actions, Level.INFO, "stopping: killing " + attempts.size() + " running job(s)");
    }
  }

  /**
   * The last act of a stop: the jobs it killed are released, so the server places them again at
   * once, and the connection is closed.
   */
  private void release(List<WorkerAction> actions) {
    if (!attempts.isEmpty()) {
      log(
          actions,
          Level.WARN,
          attempts.size() + " job(s) still running after the kill grace period");
    }
    if (registeredSession != NONE && !released.isEmpty()) {
      List<Message> releases = new ArrayList<>(released.size());
      for (AttemptRef ref : released) {
        releases.add(
            new Message.Released(ref.jobId(), ref.attempt(), "worker " + name + " stopped"));
      }
      actions.add(new Send(registeredSession, releases));
    }
    released.clear();
    if (connectedSession != NONE) {
      actions.add(new CloseConnection(connectedSession));
    }
  }

  // ---- helpers

  private static Message.Started started(AttemptRef ref, Instant at) {
    return new Message.Started(ref.jobId(), ref.attempt(), at);
  }

  private static void decline(
      long session, AttemptRef ref, boolean permanent, String reason, List<WorkerAction> actions) {
    actions.add(
        new Send(session, new Message.Declined(ref.jobId(), ref.attempt(), permanent, reason)));
  }

  private static void log(List<WorkerAction> actions, Level level, String text) {
    actions.add(new Log(level, text));
  }

  private static String describe(JobOutcome outcome) {
    if (outcome.failure() != null) {
      return outcome.failure();
    }
    if (outcome.timedOut()) {
      return "stopped at its time limit"
          + (outcome.signal() != null ? " (signal " + outcome.signal() + ")" : "");
    }
    if (outcome.signal() != null) {
      return "killed by signal " + outcome.signal();
    }
    return "exit code " + outcome.exitCode();
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
    return output.cut(text.substring(cut), output.droppedBytes() + removed);
  }
}
