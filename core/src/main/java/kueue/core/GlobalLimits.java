package kueue.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import kueue.model.ResourceUsage;

/**
 * Fleet-wide limits: the configured global resources and global_max_parallel_jobs, counted over
 * every attempt that is offered, running, not yet reclaimed after a restart, or still dying after a
 * kill.
 */
final class GlobalLimits {
  private final int maxParallelSlots;
  private final Map<String, Integer> totals;
  private final Map<String, Integer> used = new TreeMap<>();
  private int slotsInUse;

  GlobalLimits(int maxParallelSlots, Map<String, Integer> totals) {
    this.maxParallelSlots = maxParallelSlots;
    this.totals = new TreeMap<>(totals);
  }

  boolean admits(Shape shape) {
    if (slotsInUse + shape.demand().slots() > maxParallelSlots) {
      return false;
    }
    for (Map.Entry<String, Integer> ask : shape.globalResources().entrySet()) {
      int total = totals.getOrDefault(ask.getKey(), 0);
      if (usedOf(ask.getKey()) + ask.getValue() > total) {
        return false;
      }
    }
    return true;
  }

  /** True when no job with at least one slot can be admitted, whatever it asks for. */
  boolean full() {
    return slotsInUse >= maxParallelSlots;
  }

  void take(Shape shape) {
    slotsInUse += shape.demand().slots();
    shape.globalResources().forEach((name, count) -> used.merge(name, count, Integer::sum));
  }

  void release(Shape shape) {
    slotsInUse = Math.max(0, slotsInUse - shape.demand().slots());
    shape
        .globalResources()
        .forEach(
            (name, count) ->
                used.computeIfPresent(name, (key, held) -> held > count ? held - count : null));
  }

  /** Why the limits keep this shape from running now, or null when they do not. */
  String blockingReason(Shape shape) {
    for (Map.Entry<String, Integer> ask : shape.globalResources().entrySet()) {
      String name = ask.getKey();
      Integer total = totals.get(name);
      if (total == null) {
        return "global resource '" + name + "' is not configured any more";
      }
      int inUse = usedOf(name);
      if (inUse + ask.getValue() > total) {
        String needs = ask.getValue() > 1 ? ", needs " + ask.getValue() : "";
        return "waiting for global resource "
            + name
            + " ("
            + inUse
            + " of "
            + total
            + " in use"
            + needs
            + ")";
      }
    }
    int slots = shape.demand().slots();
    if (slotsInUse + slots > maxParallelSlots) {
      if (slotsInUse >= maxParallelSlots) {
        return "global_max_parallel_jobs (" + maxParallelSlots + ") reached";
      }
      return "global_max_parallel_jobs ("
          + maxParallelSlots
          + ") leaves no room for "
          + slots
          + " job slots ("
          + slotsInUse
          + " in use)";
    }
    return null;
  }

  List<ResourceUsage> usage() {
    List<ResourceUsage> usage = new ArrayList<>();
    totals.forEach((name, total) -> usage.add(new ResourceUsage(name, usedOf(name), total)));
    return usage;
  }

  int slotsInUse() {
    return slotsInUse;
  }

  private int usedOf(String name) {
    return used.getOrDefault(name, 0);
  }
}
