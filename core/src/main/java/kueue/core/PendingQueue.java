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
   * Adds restored jobs and puts each into index as well, under the same boxed id (a million ids
   * boxed twice would cost 16 MB more). Jobs in ascending id order go into an empty queue in linear
   * time: a TreeMap filled from a sorted map builds its tree directly instead of rebalancing after
   * each of a million inserts.
   */
  void addAll(List<Job> restored, Map<Long, Job> index) {
    boolean ascending = true;
    for (int i = 1; i < restored.size() && ascending; i++) {
      ascending = restored.get(i - 1).id < restored.get(i).id;
    }
    if (jobs.isEmpty() && ascending) {
      jobs.putAll(new AscendingRun(restored, index));
    } else {
      for (Job job : restored) {
        Long id = job.id;
        index.put(id, job);
        jobs.put(id, job);
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
   * Jobs already in ascending id order, seen as the sorted map that {@link TreeMap#putAll} needs
   * for its linear-time build; only what that build reads is supported. Its single pass over the
   * entries also puts each job into the index, with the same boxed id as key.
   */
  private static final class AscendingRun extends AbstractMap<Long, Job>
      implements SortedMap<Long, Job> {
    private final List<Job> restored;
    private final Map<Long, Job> index;

    AscendingRun(List<Job> restored, Map<Long, Job> index) {
      this.restored = restored;
      this.index = index;
    }

    @Override
    public Set<Map.Entry<Long, Job>> entrySet() {
      return new AbstractSet<>() {
        @Override
        public Iterator<Map.Entry<Long, Job>> iterator() {
          Iterator<Job> jobs = restored.iterator();
          return new Iterator<>() {
            @Override
            public boolean hasNext() {
              return jobs.hasNext();
            }

            @Override
            public Map.Entry<Long, Job> next() {
              Job job = jobs.next();
              Long id = job.id;
              index.put(id, job);
              return Map.entry(id, job);
            }
          };
        }

        @Override
        public int size() {
          return restored.size();
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
      return restored.getFirst().id;
    }

    @Override
    public Long lastKey() {
      return restored.getLast().id;
    }
  }
}
