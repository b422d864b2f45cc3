package kueue.worker;

import java.util.ArrayList;
import java.util.List;

/**
 * Which GPUs this worker may give to jobs: those of {@code [worker] gpus} ("auto" = all) that the
 * worker's own CUDA_VISIBLE_DEVICES, when it has one, also lists. CUDA_VISIBLE_DEVICES may name
 * GPUs by index or by UUID (or a UUID's prefix, as CUDA accepts); an empty value, or one that
 * starts with an index CUDA cannot have (such as -1), leaves none.
 */
record GpuSelection(boolean none, List<Integer> indices, List<String> visible) {

  /**
   * @param configured {@code [worker] gpus}: "auto", "none" or indices such as "0,2"
   * @param cudaVisibleDevices the worker's own CUDA_VISIBLE_DEVICES, or null when it has none
   */
  static GpuSelection of(String configured, String cudaVisibleDevices) {
    String setting = configured == null ? "auto" : configured.strip();
    if (setting.equals("none")) {
      return new GpuSelection(true, null, null);
    }
    List<Integer> indices = null;
    if (!setting.equals("auto") && !setting.isEmpty()) {
      indices = new ArrayList<>();
      for (String part : setting.split(",")) {
        indices.add(Integer.parseInt(part.strip()));
      }
    }
    List<String> visible = null;
    if (cudaVisibleDevices != null) {
      visible = new ArrayList<>();
      for (String part : cudaVisibleDevices.split(",")) {
        String token = part.strip();
        if (token.isEmpty()) {
          continue;
        }
        if (token.matches("-?[0-9]+") && Integer.parseInt(token) < 0) {
          break; // CUDA ignores this one and every device after it
        }
        visible.add(token);
      }
    }
    return new GpuSelection(false, indices, visible);
  }

  boolean allows(NvidiaSmi.Gpu gpu) {
    if (none) {
      return false;
    }
    if (indices != null && !indices.contains(gpu.index())) {
      return false;
    }
    if (visible == null) {
      return true;
    }
    for (String token : visible) {
      if (token.equals(Integer.toString(gpu.index()))
          || (token.startsWith("GPU-") && gpu.uuid().startsWith(token))) {
        return true;
      }
    }
    return false;
  }
}
