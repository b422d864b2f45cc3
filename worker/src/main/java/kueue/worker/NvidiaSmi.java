package kueue.worker;

import java.util.ArrayList;
import java.util.List;

/**
 * The two queries the worker asks nvidia-smi and how their CSV answers read. With {@code
 * --format=csv,noheader,nounits} each line is one GPU or process, fields separated by ", ", numbers
 * without units; a field the GPU does not support reads "[N/A]" or "[Not Supported]".
 */
final class NvidiaSmi {
  static final List<String> GPU_QUERY =
      List.of(
          "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu",
          "--format=csv,noheader,nounits");
  static final List<String> PROCESS_QUERY =
      List.of(
          "--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
          "--format=csv,noheader,nounits");

  record Gpu(
      int index,
      String uuid,
      String name,
      long memoryTotalMb,
      long memoryUsedMb,
      int utilizationPercent) {}

  record GpuProcess(String gpuUuid, long pid, String name, long memoryMb) {}

  private NvidiaSmi() {}

  /** The GPUs of a {@link #GPU_QUERY} answer; a line that does not read as one is skipped. */
  static List<Gpu> gpus(String csv) {
    List<Gpu> gpus = new ArrayList<>();
    for (String line : csv.split("\n")) {
      String[] fields = line.strip().split(",\\s*");
      if (fields.length < 6) {
        continue;
      }
      int last = fields.length - 1;
      // A name with a comma in it would split in two: the numbers are counted from the end.
      String name = String.join(", ", java.util.Arrays.copyOfRange(fields, 2, last - 2)).strip();
      long index = number(fields[0]);
      if (index < 0 || index > 100_000 || fields[1].isBlank()) {
        continue;
      }
      gpus.add(
          new Gpu(
              (int) index,
              fields[1].strip(),
              name,
              Math.max(0, number(fields[last - 2])),
              Math.max(0, number(fields[last - 1])),
              (int) Math.max(0, Math.min(100, number(fields[last])))));
    }
    return gpus;
  }

  /** The processes of a {@link #PROCESS_QUERY} answer. */
  static List<GpuProcess> processes(String csv) {
    List<GpuProcess> processes = new ArrayList<>();
    for (String line : csv.split("\n")) {
      String[] fields = line.strip().split(",\\s*");
      if (fields.length < 4) {
        continue;
      }
      long pid = number(fields[1]);
      if (pid <= 0) {
        continue;
      }
      int last = fields.length - 1;
      String name = String.join(", ", java.util.Arrays.copyOfRange(fields, 2, last)).strip();
      processes.add(
          new GpuProcess(fields[0].strip(), pid, name, Math.max(0, number(fields[last]))));
    }
    return processes;
  }

  /** A number, or -1 for "[N/A]", "[Not Supported]" and anything else. */
  private static long number(String field) {
    String text = field.strip();
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      try {
        return (long) Double.parseDouble(text);
      } catch (NumberFormatException notDecimal) {
        return -1;
      }
    }
  }
}
