package kueue.model;

/**
 * An amount of the three per-worker resources. Used both for what a job asks for and for what a
 * worker has; all arithmetic stays here so that placement reads as plain comparisons.
 */
public record Resources(int slots, int cpus, long ramMb) {
  public static final Resources NONE = new Resources(0, 0, 0);

  public Resources {
    if (slots < 0 || cpus < 0 || ramMb < 0) {
      throw new IllegalArgumentException(
          "resources cannot be negative: " + slots + "/" + cpus + "/" + ramMb);
    }
  }

  public boolean fitsIn(Resources available) {
    return slots <= available.slots && cpus <= available.cpus && ramMb <= available.ramMb;
  }

  public Resources plus(Resources other) {
    return new Resources(slots + other.slots, cpus + other.cpus, ramMb + other.ramMb);
  }

  /**
   * Subtraction that stops at zero: a worker that reports less than is reserved has nothing free.
   */
  public Resources minusFloorZero(Resources other) {
    return new Resources(
        Math.max(0, slots - other.slots),
        Math.max(0, cpus - other.cpus),
        Math.max(0, ramMb - other.ramMb));
  }
}
