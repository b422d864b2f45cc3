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

  /** [common] */
  public record Common(
      String sharedSecret,
      String serverName,
      int serverPort,
      String logLevel,
      Encryption encryption) {

    /** With the default encryption, TLS. */
    public Common(String sharedSecret, String serverName, int serverPort, String logLevel) {
      this(sharedSecret, serverName, serverPort, logLevel, Encryption.TLS);
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
          + "]";
    }
  }

  /** [common] encryption: how connections between the programs are protected. */
  public enum Encryption {
    /** TLS 1.3 with a server key derived from the shared secret (the default). */
    TLS,
    /** Plain TCP, for trusted networks only, and only when the config file says so. */
    NONE
  }

  /**
   * [server]
   *
   * @param metricsAddress where Prometheus metrics are served (host unresolved), or null: off
   */
  public record Server(
      List<String> addressBindings,
      Duration workerTimeout,
      Duration jobOfferTimeout,
      Duration jobCleanupAfter,
      int globalMaxParallelJobs,
      int jobMaxAttempts,
      Path dataDirectory,
      java.net.InetSocketAddress metricsAddress) {

    /** Without metrics. */
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
          null);
    }
  }

  /** [worker] */
  public record Worker(
      String workerName,
      int workerMaxParallelJobs,
      boolean dynamicCheckFreeResources,
      double dynamicCpuLoadScaleFactor,
      Duration heartbeatInterval,
      long capturedOutputMaxBytes) {}

  /** [client] */
  public record Client(int jobDefaultCpus, long jobDefaultRamMb) {}

  /**
   * [restart_workers]; sshUser is null when not set. workerCommand is a command line for sh on the
   * remote host.
   */
  public record RestartWorkers(
      String sshUser, List<String> hostnames, int sleepMinutesBeforeRecheck, String workerCommand) {
    public static final String DEFAULT_WORKER_COMMAND = "~/.local/bin/kueue_worker";
  }
}
