package kueue.server;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import kueue.protocol.Message;

/**
 * Output requests on their way to workers and back. Only followers cause them, so a job that nobody
 * follows costs nothing here; neither the scheduler loop nor the store sees any of it.
 */
final class OutputRelay {
  /** Requests waiting for workers at once, for all followers together. */
  static final int MAX_OUTSTANDING = 100_000;

  /**
   * A worker that does not answer within its request's wait and this much more is not waited for.
   */
  private static final long ANSWER_MARGIN_MILLIS = 10_000;

  private record Asked(long workerId, CompletableFuture<Message.Output> answer) {}

  private final Map<Long, Outbound> workers = new ConcurrentHashMap<>();
  private final Map<Long, Asked> outstanding = new ConcurrentHashMap<>();
  private final AtomicLong nextRequest = new AtomicLong(1);

  void workerConnected(long workerId, Outbound link) {
    workers.put(workerId, link);
  }

  /** The worker's connection closed: what it was asked will not be answered. */
  void workerGone(long workerId) {
    workers.remove(workerId);
    outstanding
        .values()
        .removeIf(
            asked -> {
              if (asked.workerId() == workerId) {
                asked.answer().complete(null);
                return true;
              }
              return false;
            });
  }

  /**
   * Asks the worker for output of the attempt. Completes with its answer, or with null when the
   * worker is not connected, goes away or does not answer in time.
   */
  CompletableFuture<Message.Output> ask(
      long workerId,
      long jobId,
      int attempt,
      Long stdoutFrom,
      Long stderrFrom,
      long waitMillis,
      int maxBytes) {
    Outbound link = workers.get(workerId);
    if (link == null || outstanding.size() >= MAX_OUTSTANDING) {
      return CompletableFuture.completedFuture(null);
    }
    long requestId = nextRequest.getAndIncrement();
    CompletableFuture<Message.Output> answer = new CompletableFuture<>();
    outstanding.put(requestId, new Asked(workerId, answer));
    link.send(
        new Message.OutputRequest(
            requestId, jobId, attempt, stdoutFrom, stderrFrom, waitMillis, maxBytes));
    return answer
        .completeOnTimeout(null, waitMillis + ANSWER_MARGIN_MILLIS, TimeUnit.MILLISECONDS)
        .whenComplete((output, failure) -> outstanding.remove(requestId));
  }

  /** A worker's answer; one nobody waits for any more, or that was not asked of it, is dropped. */
  void answered(long workerId, Message.Output output) {
    Asked asked = outstanding.get(output.requestId());
    if (asked != null && asked.workerId() == workerId) {
      outstanding.remove(output.requestId());
      asked.answer().complete(output);
    }
  }

  int outstanding() {
    return outstanding.size();
  }
}
