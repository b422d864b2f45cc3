package kueue.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Small helpers to report figures. */
final class Stats {
  private Stats() {}

  static double median(List<Double> values) {
    return percentile(values, 50);
  }

  static double percentile(List<Double> values, double percent) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int index = (int) Math.ceil(percent / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  static String seconds(double value) {
    return String.format("%.3f s", value);
  }
}
