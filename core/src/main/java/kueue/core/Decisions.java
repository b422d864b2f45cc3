package kueue.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects what the scheduler decided over one batch of commands: events to persist first, then
 * effects to carry out. The server drains it once per batch.
 */
public final class Decisions {
  private final List<Event> events = new ArrayList<>();
  private final List<Effect> effects = new ArrayList<>();

  public void record(Event event) {
    events.add(event);
  }

  public void then(Effect effect) {
    effects.add(effect);
  }

  public List<Event> events() {
    return events;
  }

  public List<Effect> effects() {
    return effects;
  }

  public boolean isEmpty() {
    return events.isEmpty() && effects.isEmpty();
  }

  public void clear() {
    events.clear();
    effects.clear();
  }
}
