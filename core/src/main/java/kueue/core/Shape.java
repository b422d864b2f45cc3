package kueue.core;

import java.util.Map;
import kueue.model.Resources;

/**
 * What placement needs to know about a job: its per-worker demand, its global resources and its
 * priority. Jobs of equal shape are interchangeable for placement, so the pending queue is kept per
 * shape and a placement pass looks at the oldest job of each shape instead of at every pending job;
 * with the priority in the shape, ordering by priority costs nothing per job.
 */
record Shape(Resources demand, Map<String, Integer> globalResources, int priority) {

  Shape {
    globalResources = Map.copyOf(globalResources);
  }

  Shape(Resources demand, Map<String, Integer> globalResources) {
    this(demand, globalResources, 0);
  }
}
