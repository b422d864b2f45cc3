package kueue.core;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
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

  /**
   * Adds restored jobs, keyed by their ids. Jobs in ascending id order go into an empty queue in
   * linear time: a TreeMap filled from a sorted map builds its tree directly instead of
   * rebalancing after each of a million inserts.
   */
  void addAll(List<Map.Entry<Long, Job>> entries) {
    boolean ascending = true;
    for (int i = 1; i < entries.size() && ascending; i++) {
      ascending = entries.get(i - 1).getKey() < entries.get(i).getKey();
    }
    if (jobs.isEmpty() && ascending) {
      jobs.putAll(new AscendingRun(entries));
    } else {
      for (Map.Entry<Long, Job> entry : entries) {
        jobs.put(entry.getKey(), entry.getValue());
      }
    }
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

  /**
   * Entries already in ascending key order, seen as the sorted map that {@link TreeMap#putAll}
   * needs for its linear-time build; only what that build reads is supported.
   */
  private static final class AscendingRun extends AbstractMap<Long, Job>
      implements SortedMap<Long, Job> {
    private final List<Map.Entry<Long, Job>> entries;

    AscendingRun(List<Map.Entry<Long, Job>> entries) {
      this.entries = entries;
    }

    @Override
    public Set<Map.Entry<Long, Job>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public Iterator<Map.Entry<Long, Job>> iterator() {
          return entries.iterator();
        }

        @Override
        public int size() {
          return entries.size();
        }
      };
    }

    @Override
    public Comparator<? super Long> comparator() {
      return null;
    }

    @Override
    public SortedMap<Long, Job> subMap(Long fromKey, Long toKey) {
      throw new UnsupportedOperationException();
    }

    @Override
    public SortedMap<Long, Job> headMap(Long toKey) {
      throw new UnsupportedOperationException();
    }

    @Override
    public SortedMap<Long, Job> tailMap(Long fromKey) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Long firstKey() {
      return entries.getFirst().getKey();
    }

    @Override
    public Long lastKey() {
      return entries.getLast().getKey();
    }
  }
}
