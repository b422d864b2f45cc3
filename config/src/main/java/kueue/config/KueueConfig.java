package kueue.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The whole configuration file, one record per section. Loaded by {@link ConfigLoader}; every
 * program gets the same record and reads the sections it needs.
 */
public record KueueConfig(
    Path file,
    Common common,
    Server server,
    Worker worker,
    Client client,
    RestartWorkers restartWorkers,
    Map<String, Integer> globalResources) {

  /**
   * [common]
   *
   * @param serverKeyFile the pin file naming the server's public key: the server writes it, clients
   *     and workers trust only the server that holds that key
   */
  public record Common(
      String sharedSecret,
      String serverName,
      int serverPort,
      String logLevel,
      Encryption encryption,
      Path serverKeyFile) {

    /** With the default encryption, TLS, and the server key pinned in {@code serverKeyFile}. */
    public Common(
        String sharedSecret,
        String serverName,
        int serverPort,
        String logLevel,
        Path serverKeyFile) {
      this(sharedSecret, serverName, serverPort, logLevel, Encryption.TLS, serverKeyFile);
    }

    public boolean encrypted() {
      return encryption == Encryption.TLS;
    }

    @Override
    public String toString() {
      // The secret must never reach a log line by accident.
      return "Common[serverName="
          + serverName
          + ", serverPort="
          + serverPort
          + ", logLevel="
          + logLevel
          + ", encryption="
          + encryption
          + ", serverKeyFile="
          + serverKeyFile
          + "]";
    }
  }

  /** [common] encryption: how connections between the programs are protected. */
  public enum Encryption {
    /** TLS 1.3 with the server's own key, pinned in a file next to the config (the default). */
    TLS,
    /** Plain TCP, for trusted networks only, and only when the config file says so. */
    NONE
  }

  /**
   * [server]
   *
   * @param metricsAddress where Prometheus metrics are served (host unresolved), or null: off
   * @param jobDeclinedTimeout a job every connected worker declined for good fails after this long;
   *     zero: it waits for a new worker however long that takes
   */
  public record Server(
      List<String> addressBindings,
      Duration workerTimeout,
      Duration jobOfferTimeout,
      Duration jobCleanupAfter,
      int globalMaxParallelJobs,
      int jobMaxAttempts,
      Path dataDirectory,
      java.net.InetSocketAddress metricsAddress,
      Duration jobDeclinedTimeout) {

    /** The default of {@code job_declined_timeout_minutes}. */
    public static final Duration DEFAULT_JOB_DECLINED_TIMEOUT = Duration.ofMinutes(60);

    /** Without metrics, with the default time a job declined by every worker waits. */
    public Server(
        List<String> addressBindings,
        Duration workerTimeout,
        Duration jobOfferTimeout,
        Duration jobCleanupAfter,
        int globalMaxParallelJobs,
        int jobMaxAttempts,
        Path dataDirectory) {
      this(
          addressBindings,
          workerTimeout,
          jobOfferTimeout,
          jobCleanupAfter,
          globalMaxParallelJobs,
          jobMaxAttempts,
          dataDirectory,
          null,
          DEFAULT_JOB_DECLINED_TIMEOUT);
    }
  }

  /**
   * [worker].
   *
   * @param timeLimitGrace from TERM to KILL for a job stopped at its time limit
   * @param devices the GPUs and declared devices jobs may get
   */
  public record Worker(
      String workerName,
      int workerMaxParallelJobs,
      boolean dynamicCheckFreeResources,
      double dynamicCpuLoadScaleFactor,
      Duration heartbeatInterval,
      long capturedOutputMaxBytes,
      Duration timeLimitGrace,
      Devices devices) {

    /** With the default grace period and the default device settings. */
    public Worker(
        String workerName,
        int workerMaxParallelJobs,
        boolean dynamicCheckFreeResources,
        double dynamicCpuLoadScaleFactor,
        Duration heartbeatInterval,
        long capturedOutputMaxBytes) {
      this(
          workerName,
          workerMaxParallelJobs,
          dynamicCheckFreeResources,
          dynamicCpuLoadScaleFactor,
          heartbeatInterval,
          capturedOutputMaxBytes,
          DEFAULT_TIME_LIMIT_GRACE,
          Devices.DEFAULT);
    }

    /** From TERM to KILL for a job stopped at its time limit, unless time_limit_grace_seconds. */
    public static final Duration DEFAULT_TIME_LIMIT_GRACE = Duration.ofSeconds(30);
  }

  /**
   * The worker's indexed devices: [worker] gpus, gpu_busy_memory_mb, hide_unrequested_devices, and
   * [worker.resources].
   *
   * @param gpus "auto" (every GPU nvidia-smi finds), "none", or the indices it may use ("0,2")
   * @param gpuBusyMemoryMb a GPU without Kueue jobs that has more memory in use than this is busy
   * @param hideUnrequestedDevices a job that asks for none of a resource gets its variable empty
   * @param resources declared resources by name
   */
  public record Devices(
      String gpus,
      long gpuBusyMemoryMb,
      boolean hideUnrequestedDevices,
      Map<String, DeclaredResource> resources) {
    public static final Devices DEFAULT = new Devices("auto", 1024, true, Map.of());

    public Devices {
      resources = Map.copyOf(resources);
    }
  }

  /**
   * One entry of [worker.resources].
   *
   * @param indices the indices jobs are given
   * @param variable the environment variable that receives a job's indices, e.g.
   *     HIP_VISIBLE_DEVICES
   */
  public record DeclaredResource(List<Integer> indices, String variable) {
    public DeclaredResource {
      indices = List.copyOf(indices);
    }
  }

  /**
   * [client].
   *
   * @param jobDefaultTimeLimitSeconds the time limit of jobs submitted without --time; null for
   *     none
   * @param serverRestartWait how long {@code kueue cmd} and waiting for jobs keep trying to reach a
   *     server that went away (a restart, a network break) before they give up
   */
  public record Client(
      int jobDefaultCpus,
      long jobDefaultRamMb,
      Long jobDefaultTimeLimitSeconds,
      Duration serverRestartWait) {}

  /**
   * [restart_workers]; sshUser is null when not set. workerCommand is a command line for sh on the
   * remote host.
   */
  public record RestartWorkers(
      String sshUser, List<String> hostnames, int sleepMinutesBeforeRecheck, String workerCommand) {
    public static final String DEFAULT_WORKER_COMMAND = "~/.local/bin/kueue_worker";
  }
}
