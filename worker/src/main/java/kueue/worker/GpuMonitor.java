package kueue.worker;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import kueue.config.KueueConfig;
import kueue.model.WorkerDevice;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds this machine's NVIDIA GPUs with nvidia-smi and keeps the last answer, with the devices of
 * [worker.resources], for the capacity reports. nvidia-smi runs on the caller's thread with a time
 * limit; the worker calls {@link #refresh()} from a thread of its own so that a slow nvidia-smi
 * never delays a heartbeat. No nvidia-smi, or one that fails or hangs, means no GPUs: that is
 * logged once (and again only when it changes), never thrown.
 */
final class GpuMonitor {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
  private static final Logger log = LoggerFactory.getLogger(GpuMonitor.class);
  private static final String PROGRAM = "nvidia-smi";

  private final KueueConfig.Devices settings;
  private final GpuSelection selection;
  private final Duration timeout;
  private final Map<String, String> environment;
  private final String path;
  private final Supplier<Set<Integer>> heldGpus;
  private final Supplier<Map<Long, Long>> jobsByPid;
  private final String workerUser = System.getProperty("user.name", "");
  private final List<WorkerDevice> declared;

  private volatile List<WorkerDevice> devices;
  private volatile boolean hasGpus;
  private String lastProblem;

  /**
   * An nvidia-smi that did not answer and could not be killed yet (one stuck in the driver ignores
   * even SIGKILL): no other is started while it lives, so that they do not pile up.
   */
  private Process stuck;

  /**
   * @param environment the worker's own environment: its PATH finds nvidia-smi, its
   *     CUDA_VISIBLE_DEVICES limits the GPUs
   * @param heldGpus indices of the GPUs this worker's jobs hold now
   * @param jobsByPid the process id of each running job of this worker, to its job id
   */
  GpuMonitor(
      KueueConfig.Devices settings,
      Map<String, String> environment,
      Duration timeout,
      Supplier<Set<Integer>> heldGpus,
      Supplier<Map<Long, Long>> jobsByPid) {
    this.settings = settings;
    this.selection =
        GpuSelection.of(settings.gpus(), environment.get(DeviceEnvironment.CUDA_VISIBLE_DEVICES));
    this.timeout = timeout;
    this.environment = Map.copyOf(environment);
    this.path = environment.getOrDefault("PATH", "/usr/bin:/bin");
    this.heldGpus = heldGpus;
    this.jobsByPid = jobsByPid;
    this.declared = DeviceReport.declared(settings.resources());
    this.devices = declared;
  }

  /** The devices of the last refresh. */
  List<WorkerDevice> devices() {
    return devices;
  }

  /** Whether the last refresh found GPUs this worker may use. */
  boolean hasGpus() {
    return hasGpus;
  }

  KueueConfig.Devices settings() {
    return settings;
  }

  /** Asks nvidia-smi again; called by one thread at a time. */
  void refresh() {
    List<WorkerDevice> gpus = selection.none() ? List.of() : probe();
    List<WorkerDevice> all = new ArrayList<>(gpus);
    all.addAll(declared);
    hasGpus = !gpus.isEmpty();
    devices = List.copyOf(all);
  }

  private List<WorkerDevice> probe() {
    if (stuck != null) {
      if (stuck.isAlive()) {
        return List.of();
      }
      stuck = null;
    }
    Path program = find();
    if (program == null) {
      problem("no GPUs: " + PROGRAM + " is not on the PATH");
      return List.of();
    }
    String gpuAnswer = run(program, NvidiaSmi.GPU_QUERY);
    if (gpuAnswer == null) {
      return List.of();
    }
    List<NvidiaSmi.Gpu> gpus = NvidiaSmi.gpus(gpuAnswer);
    List<NvidiaSmi.GpuProcess> processes = List.of();
    if (!gpus.isEmpty()) {
      String processAnswer = run(program, NvidiaSmi.PROCESS_QUERY);
      if (processAnswer == null) {
        return List.of();
      }
      processes = NvidiaSmi.processes(processAnswer);
    }
    Map<Long, Long> jobs = jobsByPid.get();
    List<WorkerDevice> found =
        DeviceReport.gpus(
            gpus,
            processes,
            selection,
            heldGpus.get(),
            pid -> ProcessOwners.owner(pid, jobs),
            workerUser,
            settings.gpuBusyMemoryMb());
    String summary =
        found.isEmpty()
            ? "no GPUs: " + PROGRAM + " lists " + gpus.size() + ", none of them allowed here"
            : "GPUs found: " + found.size();
    problem(summary);
    return found;
  }

  /** Logs a change of what the probe finds, once. */
  private void problem(String text) {
    if (!text.equals(lastProblem)) {
      lastProblem = text;
      log.info("{}", text);
    }
  }

  private Path find() {
    for (String directory : path.split(File.pathSeparator)) {
      if (directory.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(directory, PROGRAM);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /** nvidia-smi's answer, or null (logged) when it fails or does not answer in time. */
  private String run(Path program, List<String> query) {
    List<String> command = new ArrayList<>();
    command.add(program.toString());
    command.addAll(query);
    Process process;
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      builder.environment().clear();
      builder.environment().putAll(environment);
      process = builder.start();
    } catch (IOException e) {
      problem("no GPUs: cannot run " + program + ": " + e.getMessage());
      return null;
    }
    CompletableFuture<byte[]> output =
        CompletableFuture.supplyAsync(
            () -> {
              try (InputStream in = process.getInputStream()) {
                return in.readNBytes(4 << 20);
              } catch (IOException e) {
                return new byte[0];
              }
            },
            runnable -> Thread.ofVirtual().start(runnable));
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        stuck = process;
        problem("no GPUs: " + program + " did not answer within " + timeout.toSeconds() + "s");
        return null;
      }
      String text =
          new String(output.get(timeout.toMillis(), TimeUnit.MILLISECONDS), StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        String first = text.strip().lines().findFirst().orElse("");
        problem(
            "no GPUs: "
                + program
                + " failed with exit code "
                + process.exitValue()
                + (first.isEmpty() ? "" : ": " + first));
        return null;
      }
      return text;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      return null;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      process.destroyForcibly();
      problem("no GPUs: cannot read what " + program + " printed");
      return null;
    }
  }
}
