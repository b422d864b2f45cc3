package kueue.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Indexed devices of one worker (GPUs, or what {@code [worker.resources]} declares) that jobs ask
 * for by amount and get by index. An amount is either a whole number of devices or a fraction of
 * one device below 1 ({@code 0.5}, {@code 0.25}): fractions share a device with other fractional
 * jobs, never above one device in total. Shares are counted in thousandths so that sums are exact.
 */
public final class WorkerResources {
  /** The resource name of NVIDIA GPUs, found by the worker with {@code nvidia-smi}. */
  public static final String GPUS = "gpus";

  /** One whole device in thousandths. */
  public static final int WHOLE = 1000;

  private WorkerResources() {}

  /** The amount in thousandths of a device. */
  public static int thousandths(double amount) {
    return (int) Math.round(amount * WHOLE);
  }

  /** How many devices an amount needs: 1 for a fraction. */
  public static int deviceCount(int thousandths) {
    return thousandths < WHOLE ? 1 : thousandths / WHOLE;
  }

  /** The share of each of its devices an amount takes, in thousandths. */
  public static int sharePerDevice(int thousandths) {
    return Math.min(thousandths, WHOLE);
  }

  /** Why an amount cannot be asked for, or null. */
  public static String problem(String name, Double amount) {
    if (name == null || name.isBlank()) {
      return "a worker resource needs a name";
    }
    if (amount == null || amount.isNaN() || amount <= 0) {
      return "worker resource '" + name + "' must be asked for more than 0 (got " + amount + ")";
    }
    if (amount > 1_000_000) {
      return "worker resource '" + name + "' asks for " + format(amount) + ", more than any worker";
    }
    int thousandths = thousandths(amount);
    if (thousandths == 0 || Math.abs(amount * WHOLE - thousandths) > 1e-6) {
      return "worker resource '" + name + "' amount " + amount + " is finer than 0.001";
    }
    if (thousandths > WHOLE && thousandths % WHOLE != 0) {
      return "worker resource '"
          + name
          + "' asks for "
          + format(amount)
          + ": above 1 only whole devices can be asked for";
    }
    return null;
  }

  /** An amount as users write it: {@code 2}, {@code 0.5}. */
  public static String format(double amount) {
    return amount == Math.rint(amount)
        ? Long.toString((long) amount)
        : java.math.BigDecimal.valueOf(amount).stripTrailingZeros().toPlainString();
  }

  /** The user's word for a resource: "GPU" for gpus, else its name. */
  public static String deviceWord(String resource) {
    return GPUS.equals(resource) ? "GPU" : resource;
  }

  /** Assigned devices as text: {@code gpus 0,2; fpga 1}; empty for none. */
  public static String describe(Map<String, List<Integer>> assigned) {
    if (assigned == null || assigned.isEmpty()) {
      return "";
    }
    List<String> parts = new ArrayList<>();
    new TreeMap<>(assigned).forEach((name, indices) -> parts.add(name + " " + indices(indices)));
    return String.join("; ", parts);
  }

  /** Indices as a device list variable takes them: {@code 0,2}. */
  public static String indices(List<Integer> indices) {
    StringBuilder text = new StringBuilder();
    for (Integer index : indices) {
      if (!text.isEmpty()) {
        text.append(',');
      }
      text.append(index);
    }
    return text.toString();
  }
}
