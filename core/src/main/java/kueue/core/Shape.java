package kueue.core;

import java.util.Map;
import kueue.model.Resources;

/**
 * What placement needs to know about a job: its per-worker demand and its global resources. Jobs of
 * equal shape are interchangeable for placement, so the pending queue is kept per shape and a
 * placement pass looks at the oldest job of each shape instead of at every pending job.
 */
record Shape(Resources demand, Map<String, Integer> globalResources) {

  Shape {
    globalResources = Map.copyOf(globalResources);
  }
}
