package kueue.server;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import kueue.core.ActiveJobView;
import kueue.core.Command;
import kueue.core.DependencyTargets;
import kueue.core.Effect;
import kueue.core.RestoredJob;
import kueue.core.Scheduler;
import kueue.core.WorkerView;
import kueue.model.BatchSummary;
import kueue.model.Dependency;
import kueue.model.JobDetail;
import kueue.model.JobFilter;
import kueue.model.JobSpec;
import kueue.model.JobState;
import kueue.model.JobStats;
import kueue.model.JobSummary;
import kueue.model.OutputCursor;
import kueue.model.OutputPart;
import kueue.model.SystemInfo;
import kueue.model.WorkerSummary;
import kueue.protocol.FrameReader;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ProtocolException;
import kueue.store.JobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An authenticated client: one request at a time, one reply each. Reads go straight to the store
 * (which serves readers while the loop writes); changes go through the scheduler loop.
 */
final class ClientSession {
  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
  private static final int MAX_JOBS_PER_SUBMIT = Message.MAX_JOBS_PER_SUBMIT;

  private final String peer;
  private final FrameReader reader;
  private final Outbound outbound;
  private final ServerContext context;
  private final ConnectionGuard.Watched watched;

  /**
   * The next message, read while a wait request was pending (to notice a client that hangs up
   * meanwhile); null when no such read is under way.
   */
  private CompletableFuture<byte[]> readAhead;

  /** Made by the first read_output: most connections never send one. */
  private OutputReads outputReads;

  ClientSession(
      String peer,
      FrameReader reader,
      Outbound outbound,
      ServerContext context,
      ConnectionGuard.Watched watched) {
    this.peer = peer;
    this.reader = reader;
    this.outbound = outbound;
    this.context = context;
    this.watched = watched;
  }

  void run() throws IOException, ProtocolException {
    while (true) {
      byte[] line = nextLine();
      if (line == null) {
        return;
      }
      Message message = MessageCodec.decode(line);
      if (!(message instanceof Message.Request request)) {
        throw new ProtocolException("a client may not send " + Connection.typeOf(message));
      }
      Message.Reply reply;
      try {
        reply = answer(request);
      } catch (ClientGone e) {
        log.info("closed {}: it hung up while waiting for jobs", peer);
        return;
      } catch (RequestException e) {
        reply = new Message.Failure(e.code, e.getMessage());
      } catch (RuntimeException e) {
        log.error("request {} from {} failed", Connection.typeOf(request), peer, e);
        reply = new Message.Failure("internal", "the server failed to answer: " + e);
      }
      outbound.send(reply);
    }
  }

  private Message.Reply answer(Message.Request request) throws RequestException {
    return switch (request) {
      case Message.Submit submit -> submit(submit);
      case Message.ListJobs list -> listJobs(list);
      case Message.FindJobs find -> findJobs(find);
      case Message.CountEnded count -> countEnded(count);
      case Message.ShowJob show -> showJob(show.id());
      case Message.WaitJobs wait -> waitJobs(wait.ids(), Boolean.TRUE.equals(wait.reasons()));
      case Message.RemoveJob remove -> removeJob(remove);
      case Message.CleanJobs clean -> new Message.JobsCleaned(clean(clean.all()));
      case Message.ListWorkers list -> new Message.WorkerList(workers());
      case Message.ShowWorker show -> showWorker(show.id());
      case Message.ListResources list ->
          new Message.ResourceList(await(context.loop().query(s -> s.resources())));
      case Message.SubmitBatch batch -> submitBatch(batch);
      case Message.ListBatches list -> listBatches(list);
      case Message.WaitBatch wait -> waitBatch(wait.batch(), Boolean.TRUE.equals(wait.reasons()));
      case Message.RemoveBatch remove -> removeBatch(remove);
      case Message.ReadOutput read -> readOutput(read);
      case Message.UpdateJobs update -> updateJobs(update);
      case Message.Requeue requeue -> requeue(requeue);
    };
  }

  private Message.Reply readOutput(Message.ReadOutput read) throws RequestException {
    if (read.cursors() == null || read.cursors().isEmpty() || read.cursors().contains(null)) {
      throw new RequestException("bad_request", "no jobs to read the output of");
    }
    if (read.cursors().size() > Message.MAX_OUTPUT_CURSORS) {
      throw new RequestException(
          "bad_request", "at most " + Message.MAX_OUTPUT_CURSORS + " jobs per read_output");
    }
    for (var cursor : read.cursors()) {
      if ((cursor.stdoutFrom() != null && cursor.stdoutFrom() < 0)
          || (cursor.stderrFrom() != null && cursor.stderrFrom() < 0)
          || (cursor.attempt() != null && cursor.attempt() < 0)) {
        throw new RequestException("bad_request", "negative offset or attempt");
      }
    }
    if (outputReads == null) {
      outputReads = new OutputReads(context);
    }
    if (read.follow() && Boolean.TRUE.equals(read.reasons())) {
      OutputReads reads = outputReads;
      CompletableFuture<Message.OutputRead> answer = new CompletableFuture<>();
      Thread.ofVirtual()
          .name("read-output " + peer)
          .start(
              () -> {
                try {
                  answer.complete(readOutput(reads, read));
                } catch (Throwable e) {
                  answer.completeExceptionally(e);
                }
              });
      List<Long> ids = read.cursors().stream().map(OutputCursor::jobId).distinct().toList();
      return withPendingReasons(awaitWhileConnected(answer, ids));
    }
    // The wait is bounded (FOLLOW_WAIT_MILLIS), so the connection is not watched meanwhile.
    watched.busy(true);
    try {
      return withPendingReasons(readOutput(outputReads, read));
    } finally {
      watched.busy(false);
    }
  }

  private Message.OutputRead readOutput(OutputReads reads, Message.ReadOutput read)
      throws RequestException {
    try {
      return reads.read(read.cursors(), read.follow());
    } catch (OutputReads.UnknownJob e) {
      throw notFound(e.jobId);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RequestException("internal", "interrupted");
    }
  }

  /** A part of a job that waits says why in its summary's note, as show-job does. */
  private Message.OutputRead withPendingReasons(Message.OutputRead read) throws RequestException {
    List<JobSummary> jobs =
        read.parts().stream().map(OutputPart::job).filter(Objects::nonNull).toList();
    List<JobSummary> noted = withPendingReasons(jobs);
    if (noted == jobs) {
      return read;
    }
    Map<Long, JobSummary> byId = new HashMap<>();
    noted.forEach(job -> byId.put(job.id(), job));
    List<OutputPart> parts = new ArrayList<>(read.parts().size());
    for (OutputPart part : read.parts()) {
      JobSummary job = part.job() == null ? null : byId.get(part.jobId());
      parts.add(
          job == null
              ? part
              : new OutputPart(
                  part.jobId(),
                  part.attempt(),
                  job,
                  part.pieces(),
                  part.stdoutNext(),
                  part.stderrNext(),
                  part.complete()));
    }
    return new Message.OutputRead(parts);
  }

  private Message.Reply submit(Message.Submit submit) throws RequestException {
    if (submit.jobs() == null || submit.jobs().isEmpty()) {
      throw new RequestException("bad_request", "no jobs to submit");
    }
    if (submit.jobs().size() > MAX_JOBS_PER_SUBMIT) {
      throw new RequestException(
          "bad_request", "at most " + MAX_JOBS_PER_SUBMIT + " jobs per submission");
    }
    for (var spec : submit.jobs()) {
      if (spec == null || spec.argv() == null || spec.cwd() == null) {
        throw new RequestException("bad_request", "a job without command or working directory");
      }
    }
    String key = submissionKey(submit.jobs().getFirst());
    for (var spec : submit.jobs()) {
      if (!java.util.Objects.equals(spec.submissionKey(), key)) {
        throw new RequestException(
            "bad_request", "the jobs of one submission must have the same submission key");
      }
    }
    List<Long> named = dependencyIds(submit.jobs());
    Effect effect =
        submitWithTargets(
            named,
            targets ->
                context
                    .loop()
                    .submitOnce(key, id -> new Command.Submit(id, submit.jobs(), targets)));
    return switch (effect) {
      case Effect.SubmitAccepted accepted -> new Message.Submitted(accepted.jobIds());
      case Effect.RequestRejected rejected ->
          throw new RequestException("rejected", rejected.reason());
      default -> throw new IllegalStateException("unexpected answer " + effect);
    };
  }

  /** The list categories of jobs that have ended: what requeue --batch takes without --failed. */
  private static final List<JobFilter> ENDED_CATEGORIES =
      java.util.Arrays.stream(JobState.values())
          .filter(JobState::isTerminal)
          .flatMap(state -> java.util.stream.Stream.of(state.category(0), state.category(null)))
          .distinct()
          .toList();

  /** How often a submission is looked up again when a job it depends on ends meanwhile. */
  private static final int SUBMIT_ATTEMPTS = 10;

  /**
   * Looks up what the dependencies name (the scheduler knows neither ended jobs nor batches) and
   * submits; a job named that ends between the look-up and the submission makes the scheduler ask
   * for another look-up.
   */
  private Effect submitWithTargets(
      List<Long> named,
      java.util.function.Function<DependencyTargets, CompletableFuture<Effect>> submit)
      throws RequestException {
    for (int attempt = 1; ; attempt++) {
      DependencyTargets targets =
          named.isEmpty() ? DependencyTargets.NONE : context.store().dependencyTargets(named);
      Effect effect = await(submit.apply(targets));
      if (!(effect instanceof Effect.SubmitRaced) || attempt == SUBMIT_ATTEMPTS) {
        if (effect instanceof Effect.SubmitRaced) {
          throw new RequestException(
              "rejected", "the jobs this depends on keep changing; submit again");
        }
        return effect;
      }
    }
  }

  private static List<Long> dependencyIds(List<JobSpec> specs) {
    List<Long> ids = new ArrayList<>();
    for (JobSpec spec : specs) {
      if (spec != null) {
        for (Dependency dependency : spec.dependencies()) {
          ids.add(dependency.jobId());
        }
      }
    }
    return ids;
  }

  private Message.Reply updateJobs(Message.UpdateJobs update) throws RequestException {
    if (update.update() == null || update.update().isEmpty()) {
      throw new RequestException("bad_request", "nothing to change");
    }
    if (update.update().problem() != null) {
      throw new RequestException("bad_request", update.update().problem());
    }
    List<Long> ids;
    if (update.batch() != null) {
      batchOrNotFound(update.batch());
      ids = context.store().activeJobIds(update.batch());
      if (ids.isEmpty()) {
        throw new RequestException(
            "rejected", "batch " + update.batch() + " has no jobs left that have not ended");
      }
    } else {
      ids = update.ids();
      if (ids == null || ids.isEmpty() || ids.contains(null)) {
        throw new RequestException("bad_request", "no jobs to change");
      }
    }
    List<Long> jobs = ids;
    // The scheduler knows only jobs that have not ended: the store tells an ended job from one
    // that never was, so that the user hears which it is.
    List<String> notActive = new ArrayList<>();
    if (update.batch() == null) {
      Map<Long, JobSummary> stored = new HashMap<>();
      context.store().summaries(ids).forEach(job -> stored.put(job.id(), job));
      List<Long> active = new ArrayList<>();
      for (long id : ids) {
        JobSummary job = stored.get(id);
        if (job == null) {
          notActive.add("job " + id + " not found");
        } else if (job.state().isTerminal()) {
          notActive.add("job " + id + " has already ended");
        } else {
          active.add(id);
        }
      }
      if (active.isEmpty()) {
        return new Message.JobsUpdated(List.of(), notActive);
      }
      jobs = active;
    }
    List<Long> asked = jobs;
    Effect effect =
        await(
            context
                .loop()
                .request(requestId -> new Command.UpdateJobs(requestId, asked, update.update())));
    if (!(effect instanceof Effect.JobsUpdated updated)) {
      throw new IllegalStateException("unexpected answer " + effect);
    }
    if (update.batch() == null) {
      List<String> skipped = new ArrayList<>(notActive);
      skipped.addAll(updated.skipped());
      return new Message.JobsUpdated(updated.updated(), skipped);
    }
    // A batch's running jobs are not what "hold the batch" is about: they are left alone quietly.
    List<String> skipped =
        updated.skipped().stream().filter(reason -> !reason.endsWith(" has started")).toList();
    if (updated.updated().isEmpty() && skipped.isEmpty()) {
      throw new RequestException(
          "rejected", "batch " + update.batch() + " has no jobs left that have not started");
    }
    return new Message.JobsUpdated(updated.updated(), skipped);
  }

  private Message.Reply requeue(Message.Requeue requeue) throws RequestException {
    List<Long> ids;
    if (requeue.batch() != null) {
      batchOrNotFound(requeue.batch());
      List<JobFilter> ended =
          requeue.failed() ? List.of(JobFilter.FAILED, JobFilter.TIMED_OUT) : ENDED_CATEGORIES;
      ids =
          context.store().listBatch(requeue.batch(), 0, ended).stream()
              .map(JobSummary::id)
              .toList();
      if (ids.isEmpty()) {
        throw new RequestException(
            "rejected",
            "batch "
                + requeue.batch()
                + " has no "
                + (requeue.failed() ? "failed" : "ended")
                + " jobs to requeue");
      }
    } else {
      ids = requeue.ids();
      if (ids == null || ids.isEmpty() || ids.contains(null)) {
        throw new RequestException("bad_request", "no jobs to requeue");
      }
    }
    List<String> skipped = new ArrayList<>();
    Set<Long> stored = new HashSet<>();
    for (JobSummary job : context.store().summaries(ids)) {
      stored.add(job.id());
    }
    for (Long id : ids) {
      if (!stored.contains(id)) {
        skipped.add("job " + id + " not found");
      }
    }
    Set<Long> asked = Set.copyOf(stored);
    for (int attempt = 1; attempt <= SUBMIT_ATTEMPTS; attempt++) {
      List<RestoredJob> candidates =
          asked.isEmpty() ? List.of() : context.store().rerunCandidates(asked);
      Effect effect =
          await(
              context.loop().request(requestId -> new Command.Rerun(requestId, candidates, asked)));
      if (effect instanceof Effect.JobsUpdated updated) {
        skipped.addAll(updated.skipped());
        return new Message.JobsUpdated(updated.updated(), skipped);
      }
    }
    throw new RequestException("rejected", "the jobs to requeue keep changing; try again");
  }

  /** In chunks, each a turn of the loop, so that other requests are not held up meanwhile. */
  private long clean(boolean all) throws RequestException {
    long removed = 0;
    long chunk;
    do {
      chunk = await(context.loop().withStore(store -> store.clean(all, JobStore.EXPIRY_CHUNK)));
      removed += chunk;
    } while (chunk == JobStore.EXPIRY_CHUNK);
    return removed;
  }

  private Message.Reply listJobs(Message.ListJobs list) throws RequestException {
    if (list.limit() < 0) {
      throw new RequestException("bad_request", "limit must not be negative");
    }
    List<JobFilter> filters = filters(list.filters());
    JobStats stats =
        list.batch() != null
            ? batchOrNotFound(list.batch()).stats()
            : context.store().stats(Instant.now());
    boolean onePage = list.afterId() == null && list.limit() > 0 && list.limit() <= LIST_PAGE_JOBS;
    if (onePage) {
      List<JobSummary> jobs =
          list.batch() != null
              ? context.store().listBatch(list.batch(), list.limit(), filters)
              : context.store().list(list.limit(), filters);
      return new Message.JobList(withPendingReasons(jobs), stats);
    }
    long afterId;
    if (list.afterId() != null) {
      afterId = list.afterId();
    } else if (list.limit() == 0) {
      afterId = 0;
    } else {
      afterId = context.store().idBeforeNewest(list.batch(), filters, list.limit());
    }
    int wanted = list.limit() == 0 ? LIST_PAGE_JOBS : Math.min(list.limit(), LIST_PAGE_JOBS);
    List<JobSummary> jobs = context.store().listAfter(list.batch(), filters, afterId, wanted);
    int kept = jobsWithin(jobs, LIST_PAGE_BYTES);
    boolean more = kept < jobs.size() || (jobs.size() == wanted && list.limit() != wanted);
    List<JobSummary> page = jobs.subList(0, kept);
    Long next = more && !page.isEmpty() ? page.getLast().id() : null;
    return new Message.JobList(withPendingReasons(page), stats, next);
  }

  /**
   * Jobs per page of a listing. A page is one message, which the peer decodes whole: pages keep the
   * memory of both sides bounded however many jobs are listed.
   */
  static final int LIST_PAGE_JOBS = 5_000;

  /** A page stops early when its jobs' text reaches this, well under the message limit. */
  static final long LIST_PAGE_BYTES = MessageCodec.MAX_MESSAGE_BYTES / 4;

  /** How many of the jobs, from the first, fit in about maxBytes (at least one). */
  private static int jobsWithin(List<JobSummary> jobs, long maxBytes) {
    long bytes = 0;
    for (int i = 0; i < jobs.size(); i++) {
      JobSummary job = jobs.get(i);
      // The command line, directory and note are the parts that can be long; the rest of a
      // summary is a few hundred bytes of JSON.
      bytes +=
          400
              + 2L * (job.command() == null ? 0 : job.command().length())
              + 2L * (job.cwd() == null ? 0 : job.cwd().length())
              + 2L * (job.note() == null ? 0 : job.note().length());
      if (bytes > maxBytes && i > 0) {
        return i;
      }
    }
    return jobs.size();
  }

  private static String submissionKey(JobSpec spec) throws RequestException {
    String key = spec.submissionKey();
    if (key != null && (key.isEmpty() || key.length() > JobSpec.MAX_SUBMISSION_KEY_LENGTH)) {
      throw new RequestException(
          "bad_request",
          "a submission key has 1 to " + JobSpec.MAX_SUBMISSION_KEY_LENGTH + " characters");
    }
    return key;
  }

  private Message.Reply findJobs(Message.FindJobs find) throws RequestException {
    if (find.query() == null) {
      throw new RequestException("bad_request", "no query");
    }
    filters(find.query().filters());
    if (!find.query().limitIsValid()) {
      throw new RequestException(
          "bad_request", "limit must be 1 to " + kueue.model.JobQuery.MAX_LIMIT);
    }
    List<JobSummary> jobs = context.store().page(find.query());
    // All jobs' stats, from the store's counters: a batch's would be counted over its jobs, which
    // made a page of a batch of 100,000 several times slower than the page itself.
    return new Message.JobList(withPendingReasons(jobs), context.store().stats(Instant.now()));
  }

  private Message.Reply countEnded(Message.CountEnded count) throws RequestException {
    if (count.since() == null) {
      throw new RequestException("bad_request", "no time to count from");
    }
    var counts = context.store().endedPerMinute(count.since());
    return new Message.EndedPerMinute(List.copyOf(counts.keySet()), List.copyOf(counts.values()));
  }

  private Message.Reply submitBatch(Message.SubmitBatch batch) throws RequestException {
    if (batch.entries() == null || batch.entries().isEmpty()) {
      throw new RequestException("bad_request", "no jobs to submit");
    }
    if (batch.entries().size() > MAX_JOBS_PER_SUBMIT) {
      throw new RequestException(
          "bad_request", "at most " + MAX_JOBS_PER_SUBMIT + " jobs per submission");
    }
    if (batch.shared() == null || batch.shared().cwd() == null) {
      throw new RequestException("bad_request", "a batch without working directory");
    }
    List<Long> named = dependencyIds(List.of(batch.shared()));
    String batchKey = submissionKey(batch.shared());
    Effect effect =
        submitWithTargets(
            named,
            targets ->
                context
                    .loop()
                    .submitOnce(
                        batchKey,
                        id ->
                            new Command.SubmitBatch(id, batch.shared(), batch.entries(), targets)));
    return switch (effect) {
      case Effect.SubmitAccepted accepted ->
          new Message.BatchSubmitted(accepted.jobIds().getFirst(), accepted.jobIds());
      case Effect.RequestRejected rejected ->
          throw new RequestException("rejected", rejected.reason());
      default -> throw new IllegalStateException("unexpected answer " + effect);
    };
  }

  private Message.Reply listBatches(Message.ListBatches list) throws RequestException {
    if (list.limit() < 0) {
      throw new RequestException("bad_request", "limit must not be negative");
    }
    Instant now = Instant.now();
    List<JobFilter> filters = filters(list.filters());
    return new Message.BatchList(
        context.store().batches(list.limit(), filters, now), context.store().stats(now));
  }

  private Message.Reply waitBatch(long batch, boolean reasons) throws RequestException {
    BatchSummary before = batchOrNotFound(batch);
    List<Long> active = context.store().activeJobIds(batch);
    if (!active.isEmpty()) {
      awaitWhileConnected(context.loop().awaitEnd(active), reasons ? active : null);
    }
    return new Message.BatchEnded(context.store().batch(batch, Instant.now()).orElse(before));
  }

  private Message.Reply removeBatch(Message.RemoveBatch remove) throws RequestException {
    long batch = remove.batch();
    BatchSummary before = batchOrNotFound(batch);
    List<Long> active = context.store().activeJobIds(batch);
    if (active.isEmpty()) {
      throw new RequestException(
          "rejected", "batch " + batch + " has no pending or running jobs left");
    }
    Effect effect =
        await(
            context
                .loop()
                .request(requestId -> new Command.CancelJobs(requestId, active, remove.kill())));
    return switch (effect) {
      case Effect.CancelJobsAnswered answered ->
          new Message.BatchRemoved(
              context.store().batch(batch, Instant.now()).orElse(before),
              answered.canceled().size(),
              answered.left().size());
      case Effect.RequestRejected rejected ->
          throw new RequestException("rejected", rejected.reason());
      default -> throw new IllegalStateException("unexpected answer " + effect);
    };
  }

  private BatchSummary batchOrNotFound(long batch) throws RequestException {
    return context
        .store()
        .batch(batch, Instant.now())
        .orElseThrow(
            () ->
                new RequestException(
                    "not_found",
                    "batch " + batch + " not found (list-jobs --batches shows the batches)"));
  }

  private Message.Reply showJob(long id) throws RequestException {
    JobDetail detail = context.store().detail(id).orElseThrow(() -> notFound(id));
    List<JobSummary> summary = withPendingReasons(List.of(detail.summary()));
    return new Message.JobDetails(detail.withSummary(summary.getFirst()));
  }

  private Message.Reply waitJobs(List<Long> ids, boolean reasons) throws RequestException {
    if (ids == null || ids.isEmpty()) {
      throw new RequestException("bad_request", "no jobs to wait for");
    }
    if (ids.contains(null)) {
      throw new RequestException("bad_request", "a job id is missing");
    }
    List<JobSummary> known = context.store().summaries(ids);
    if (known.size() < ids.stream().distinct().count()) {
      List<Long> missing = new ArrayList<>(ids);
      missing.removeAll(known.stream().map(JobSummary::id).toList());
      throw new RequestException("not_found", "job " + missing.getFirst() + " not found");
    }
    awaitWhileConnected(context.loop().awaitEnd(ids), reasons ? ids : null);
    return new Message.JobsEnded(context.store().summaries(ids));
  }

  private Message.Reply removeJob(Message.RemoveJob remove) throws RequestException {
    long id = remove.id();
    JobSummary before = context.store().summary(id).orElseThrow(() -> notFound(id));
    if (before.state().isTerminal()) {
      throw new RequestException(
          "rejected",
          "job "
              + id
              + " has already "
              + (before.state() == JobState.CANCELED ? "been canceled" : "finished"));
    }
    Effect effect =
        await(
            context.loop().request(requestId -> new Command.Cancel(requestId, id, remove.kill())));
    return switch (effect) {
      case Effect.CancelAccepted accepted ->
          new Message.JobRemoved(context.store().summary(id).orElse(before));
      case Effect.RequestRejected rejected ->
          throw new RequestException("rejected", rejected.reason());
      default -> throw new IllegalStateException("unexpected answer " + effect);
    };
  }

  private List<WorkerSummary> workers() throws RequestException {
    List<WorkerView> views = await(context.loop().query(s -> s.workers()));
    List<WorkerSummary> workers = new ArrayList<>(views.size());
    for (WorkerView view : views) {
      workers.add(summarize(view));
    }
    return workers;
  }

  private Message.Reply showWorker(long id) throws RequestException {
    Optional<WorkerView> view =
        await(
            context
                .loop()
                .query(s -> s.workers().stream().filter(w -> w.workerId() == id).findFirst()));
    if (view.isEmpty()) {
      throw new RequestException("not_found", "worker " + id + " not found (see list-workers)");
    }
    return new Message.WorkerDetails(
        summarize(view.get()), context.store().summaries(view.get().jobIds()));
  }

  private WorkerSummary summarize(WorkerView view) {
    SystemInfo system = context.systemInfo().get(view.workerId());
    return new WorkerSummary(
        view.workerId(),
        view.name(),
        system,
        view.capacity(),
        view.reserved(),
        view.free(),
        view.jobIds().size(),
        view.busyness(),
        view.connected(),
        view.lastSeen(),
        view.devices());
  }

  /** Pending, held and waiting jobs get the scheduler's explanation of why they wait. */
  private List<JobSummary> withPendingReasons(List<JobSummary> jobs) throws RequestException {
    List<Long> pending =
        jobs.stream()
            .filter(j -> !j.state().isTerminal() && !j.state().isOnWorker())
            .map(JobSummary::id)
            .toList();
    if (pending.isEmpty()) {
      return jobs;
    }
    Map<Long, String> reasons =
        await(
            context
                .loop()
                .query(
                    s -> {
                      Map<Long, String> found = new HashMap<>();
                      for (long id : pending) {
                        s.activeJob(id)
                            .map(ActiveJobView::pendingReason)
                            .ifPresent(r -> found.put(id, r));
                      }
                      return found;
                    }));
    List<JobSummary> result = new ArrayList<>(jobs.size());
    for (JobSummary job : jobs) {
      String reason = reasons.get(job.id());
      result.add(reason == null ? job : job.withNote(reason));
    }
    return result;
  }

  private static List<JobFilter> filters(List<JobFilter> filters) throws RequestException {
    if (filters == null) {
      return List.of();
    }
    if (filters.contains(null)) {
      throw new RequestException("bad_request", "unknown filter");
    }
    return filters;
  }

  private static RequestException notFound(long id) {
    return new RequestException("not_found", "job " + id + " not found");
  }

  private byte[] nextLine() throws IOException, ProtocolException {
    CompletableFuture<byte[]> ahead = readAhead;
    if (ahead == null) {
      return reader.next();
    }
    readAhead = null;
    try {
      return ahead.join();
    } catch (java.util.concurrent.CompletionException e) {
      switch (e.getCause()) {
        case IOException io -> throw io;
        case ProtocolException protocol -> throw protocol;
        case RuntimeException runtime -> throw runtime;
        default -> throw new IOException(e.getCause());
      }
    }
  }

  /**
   * Waits for the answer to a wait request, which may take days, while watching the connection: a
   * client that hangs up meanwhile ends the session, instead of holding a thread and a socket until
   * its jobs end. A request the client sends meanwhile is kept for afterwards.
   */
  private <T> T awaitWhileConnected(CompletableFuture<T> future) throws RequestException {
    return awaitWhileConnected(future, null);
  }

  /**
   * Like {@link #awaitWhileConnected(CompletableFuture)}; with {@code reasonsOf}, also sends a
   * {@link Message.PendingReason} each second in which why the first of those jobs that waits (not
   * on a worker) waits has changed. The first check comes after a second, so a job that starts at
   * once gets none.
   */
  private <T> T awaitWhileConnected(CompletableFuture<T> future, List<Long> reasonsOf)
      throws RequestException {
    if (readAhead == null) {
      CompletableFuture<byte[]> ahead = new CompletableFuture<>();
      Thread.ofVirtual()
          .name("read-ahead " + peer)
          .start(
              () -> {
                try {
                  ahead.complete(reader.next());
                } catch (Throwable e) {
                  ahead.completeExceptionally(e);
                }
              });
      readAhead = ahead;
    }
    watched.busy(true);
    Message.PendingReason lastReason = NO_REASON;
    try {
      while (true) {
        try {
          return future.get(1, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          if (readAhead.isCompletedExceptionally()
              || (readAhead.isDone() && readAhead.join() == null)) {
            throw new ClientGone();
          }
          if (reasonsOf != null) {
            lastReason = sendReasonIfChanged(reasonsOf, lastReason);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RequestException("internal", "interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RequestException refused) {
        throw refused;
      }
      throw new RequestException("internal", "the server failed to answer: " + e.getCause());
    } finally {
      watched.busy(false);
    }
  }

  /** What a waiting client was last told: nothing yet. */
  private static final Message.PendingReason NO_REASON = new Message.PendingReason(0, null);

  private Message.PendingReason sendReasonIfChanged(List<Long> ids, Message.PendingReason last)
      throws RequestException {
    Message.PendingReason now =
        await(
            context
                .loop()
                .query(
                    s -> {
                      for (long id : ids) {
                        Optional<ActiveJobView> job = s.activeJob(id);
                        if (job.isPresent() && job.get().pendingReason() != null) {
                          return new Message.PendingReason(id, job.get().pendingReason());
                        }
                      }
                      return NO_REASON;
                    }));
    // That one holds only until the next placement pass: sent, it would make the printed reason
    // flip back and forth on a busy fleet.
    if (Scheduler.ABOUT_TO_BE_OFFERED.equals(now.reason())
        || now.equals(last)
        || (now.reason() == null && last.reason() == null)) {
      return last;
    }
    outbound.send(now.reason() == null ? new Message.PendingReason(last.jobId(), null) : now);
    return now;
  }

  /** The client closed its connection while its request was still being answered. */
  private static final class ClientGone extends RuntimeException {
    ClientGone() {
      super(null, null, false, false);
    }
  }

  private static <T> T await(CompletableFuture<T> future) throws RequestException {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RequestException("internal", "interrupted");
    } catch (ExecutionException e) {
      throw new RequestException("internal", "the server failed to answer: " + e.getCause());
    }
  }

  /** A request that gets a Failure reply; the connection stays open. */
  private static final class RequestException extends Exception {
    final String code;

    RequestException(String code, String message) {
      super(message);
      this.code = code;
    }
  }
}
