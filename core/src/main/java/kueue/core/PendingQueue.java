package kueue.core;

import java.util.Map;
import java.util.TreeMap;

/** The pending jobs of one shape in id order; a requeued job gets its old place back. */
final class PendingQueue {
  private final Shape shape;
  private final TreeMap<Long, Job> jobs = new TreeMap<>();

  PendingQueue(Shape shape) {
    this.shape = shape;
  }

  Shape shape() {
    return shape;
  }

  void add(Job job) {
    jobs.put(job.id, job);
  }

  void remove(Job job) {
    jobs.remove(job.id);
  }

  boolean isEmpty() {
    return jobs.isEmpty();
  }

  Job oldest() {
    Map.Entry<Long, Job> first = jobs.firstEntry();
    return first == null ? null : first.getValue();
  }

  Job after(long jobId) {
    Map.Entry<Long, Job> next = jobs.higherEntry(jobId);
    return next == null ? null : next.getValue();
  }
}
