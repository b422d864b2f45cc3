package kueue.core;

import java.util.Map;
import kueue.model.Resources;

/**
 * What placement needs to know about a job: its per-worker demand, its global resources, the
 * indexed devices it needs on its worker and its priority. Jobs of equal shape are interchangeable
 * for placement, so the pending queue is kept per shape and a placement pass looks at the oldest
 * job of each shape instead of at every pending job; with the priority in the shape, ordering by
 * priority costs nothing per job.
 *
 * @param workerResources devices by resource name, in thousandths of a device (see {@link
 *     kueue.model.WorkerResources})
 * @param gpuRamMb only GPUs with at least this much free memory; 0 for any
 */
record Shape(
    Resources demand,
    Map<String, Integer> globalResources,
    Map<String, Integer> workerResources,
    long gpuRamMb,
    int priority) {

  Shape {
    globalResources = Map.copyOf(globalResources);
    workerResources = Map.copyOf(workerResources);
  }

  Shape(Resources demand, Map<String, Integer> globalResources) {
    this(demand, globalResources, Map.of(), 0, 0);
  }

  Shape(Resources demand, Map<String, Integer> globalResources, int priority) {
    this(demand, globalResources, Map.of(), 0, priority);
  }

  Shape(
      Resources demand,
      Map<String, Integer> globalResources,
      Map<String, Integer> workerResources,
      long gpuRamMb) {
    this(demand, globalResources, workerResources, gpuRamMb, 0);
  }

  boolean needsDevices() {
    return !workerResources.isEmpty();
  }
}
