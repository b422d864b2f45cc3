package kueue.worker;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import kueue.config.KueueConfig;
import kueue.model.JobSpec;
import kueue.model.WorkerResources;

/**
 * The variables that tell a job which devices it got: CUDA_VISIBLE_DEVICES with its GPU indices (in
 * nvidia-smi's order, which CUDA follows with CUDA_DEVICE_ORDER=PCI_BUS_ID) and KUEUE_GPUS with the
 * amount it asked for; each declared resource's variable with its indices. On a worker with GPUs a
 * job that asked for none gets CUDA_VISIBLE_DEVICES="" so that it cannot use one by accident
 * (unless {@code hide_unrequested_devices} is off); the same for declared resources.
 */
final class DeviceEnvironment {
  static final String CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";
  static final String CUDA_DEVICE_ORDER = "CUDA_DEVICE_ORDER";
  static final String KUEUE_GPUS = "KUEUE_GPUS";

  private DeviceEnvironment() {}

  /**
   * "NAME=value" lines to set for the job, replacing what its environment has.
   *
   * @param devices the indices the job's offer gave it, by resource name
   * @param hasGpus whether this worker has GPUs it gives to jobs
   */
  static List<String> variables(
      JobSpec spec,
      Map<String, List<Integer>> devices,
      boolean hasGpus,
      KueueConfig.Devices settings) {
    if (devices.isEmpty() && !hasGpus && settings.resources().isEmpty()) {
      return List.of(); // a machine without devices: nothing to set, nothing to allocate
    }
    List<String> variables = new ArrayList<>();
    List<Integer> gpus = devices.get(WorkerResources.GPUS);
    if (gpus != null && !gpus.isEmpty()) {
      variables.add(CUDA_VISIBLE_DEVICES + "=" + WorkerResources.indices(gpus));
      variables.add(CUDA_DEVICE_ORDER + "=PCI_BUS_ID");
      Double amount = spec.workerResources().get(WorkerResources.GPUS);
      variables.add(
          KUEUE_GPUS + "=" + WorkerResources.format(amount == null ? gpus.size() : amount));
    } else if (hasGpus && settings.hideUnrequestedDevices()) {
      variables.add(CUDA_VISIBLE_DEVICES + "=");
    }
    for (Map.Entry<String, KueueConfig.DeclaredResource> declared :
        new java.util.TreeMap<>(settings.resources()).entrySet()) {
      List<Integer> indices = devices.get(declared.getKey());
      String variable = declared.getValue().variable();
      if (indices != null && !indices.isEmpty()) {
        variables.add(variable + "=" + WorkerResources.indices(indices));
      } else if (settings.hideUnrequestedDevices()) {
        variables.add(variable + "=");
      }
    }
    return variables;
  }

  /** The names of the variables, which the job's own environment must not set as well. */
  static Set<String> names(List<String> variables) {
    Set<String> names = new TreeSet<>();
    for (String variable : variables) {
      names.add(variable.substring(0, variable.indexOf('=')));
    }
    return names;
  }
}
