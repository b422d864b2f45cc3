package kueue.config;

import java.security.SecureRandom;
import java.util.Base64;

/** The commented file written on first start: every setting with its default. */
final class ConfigTemplate {
  /** 32 random bytes = 256 bits: guessing it is out of reach (docs/SECURITY.md). */
  private static final int SECRET_BYTES = 32;

  private static final SecureRandom RANDOM = new SecureRandom();

  private ConfigTemplate() {}

  static String newSharedSecret() {
    byte[] bytes = new byte[SECRET_BYTES];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String render(String sharedSecret) {
    return """
    # Kueue configuration, shared by kueue, kueue_server, kueue_worker and kueue_restart_workers.
    # Every setting below shows its default; delete a line to go back to the default.
    # Copy this file to every machine that runs Kueue (a shared home does this for you):
    # all programs must use the same shared_secret. Keep this file private (chmod 600).

    [common]
    # Proves to each other that clients, workers and the server belong together. Never share it.
    shared_secret = "%s"
    # Host name or address where kueue_server runs; clients and workers connect there.
    server_name = "localhost"
    # TCP port of kueue_server (1..65535).
    server_port = 11236
    # How much the programs log: trace, debug, info, warn or error.
    log_level = "info"
    # "tls" encrypts all traffic. The server makes its own key (in its data directory) and writes
    # the public half to server_key_file; clients and workers talk only to the server holding it.
    # "none" sends commands, environments and output readable by anyone on the network: only for
    # a network you trust completely. Server, workers and clients must all agree.
    encryption = "tls"
    # The server's public key, written by kueue_server when it starts. Empty = server-key.pub in
    # this file's directory; a relative path is taken from this file's directory. Without a shared
    # home, copy this file from the server's machine like the config.
    server_key_file = ""

    [server]
    # Addresses the server listens on, separated by spaces; it runs as long as one of them binds.
    address_bindings = "0.0.0.0 [::]"
    # A worker silent (or disconnected) for this long is presumed lost and its jobs go back to
    # pending, as a new attempt. Workers read it too: one that hears nothing from the server for
    # half this time kills its jobs, so that no job ever runs twice at once.
    worker_timeout_seconds = 20
    # A job offered to a worker that neither accepts nor declines within this time is offered again.
    job_offer_timeout_seconds = 30
    # Finished and canceled jobs are forgotten after this many minutes (2880 = 2 days).
    job_cleanup_after_minutes = 2880
    # At most this many jobs run at once across all workers.
    global_max_parallel_jobs = 100
    # A job lost this many times (its worker died, was cut off, ...) is marked failed instead of
    # being run again. A worker stopped with SIGINT/SIGTERM does not count against its jobs.
    job_max_attempts = 5
    # A job that every connected worker declined for good (e.g. none can see its working
    # directory) fails after this long, unless a worker that joins meanwhile takes it;
    # 0 = it waits for such a worker however long that takes.
    job_declined_timeout_minutes = 60
    # Where the server keeps its database; empty = $XDG_DATA_HOME/kueue or ~/.local/share/kueue.
    data_directory = ""
    # Serve Prometheus metrics at http://HOST:PORT/metrics, e.g. "127.0.0.1:9464"; empty = off.
    # Anyone who can reach it sees job counts and worker names: keep it on loopback or a trusted
    # network.
    metrics_address = ""

    [worker]
    # Name shown in list-workers; empty = this host's name.
    worker_name = ""
    # At most this many jobs run at once on this worker.
    worker_max_parallel_jobs = 10
    # Count load and memory used by other programs on this machine, not only Kueue's own jobs.
    dynamic_check_free_resources = true
    # Each CPU that other programs use (measured over the last seconds; the 1-minute load average
    # where /proc cannot be read) takes this many CPUs away from what is free for jobs; 0 ignores them.
    dynamic_cpu_load_scale_factor = 1.0
    # How often the worker reports its free resources to the server (at least every eighth of
    # worker_timeout_seconds, whatever this says).
    heartbeat_interval_seconds = 2
    # Captured stdout and stderr keep at most this many bytes per stream (the end is kept).
    captured_output_max_bytes = 1048576
    # A job that reaches its time limit (`kueue cmd --time`) gets SIGTERM, and SIGKILL this many
    # seconds later if it still runs; it ends as timed out.
    time_limit_grace_seconds = 30
    # NVIDIA GPUs jobs may get with `kueue cmd --gpus N`: "auto" (all that nvidia-smi finds, within
    # the worker's own CUDA_VISIBLE_DEVICES if set), "none", or indices such as "0,2".
    gpus = "auto"
    # A GPU that runs no Kueue job but has more memory than this in use (MiB) is left alone, like a
    # GPU running another user's process.
    gpu_busy_memory_mb = 1024
    # Jobs that ask for no GPU get CUDA_VISIBLE_DEVICES="" (and an empty variable for each
    # resource below that they do not ask for), so that they cannot use devices by accident.
    hide_unrequested_devices = true

    # Other indexed devices of this machine, assigned like GPUs: NAME = { count = N or
    # indices = "0,1", variable = "VARIABLE THAT GETS THE INDICES" }.
    # A job asks for them with `kueue cmd --worker-resource NAME=N`.
    # [worker.resources]
    # amd_gpus = { count = 2, variable = "HIP_VISIBLE_DEVICES" }

    [client]
    # CPUs a job reserves when `kueue cmd` is given no --cpus.
    job_default_cpus = 1
    # RAM in MB a job reserves when `kueue cmd` is given no --ram-mb.
    job_default_ram_mb = 1024
    # How long `kueue cmd` and waiting for jobs (cmd --wait, wait-job) keep trying to reach a
    # server that went away (a restart, a network break); default: 3 x worker_timeout_seconds.
    # server_restart_wait_seconds = 60
    # Time limit of a job when `kueue cmd` is given no --time, e.g. "12h" or "1-00:00:00";
    # empty = no limit.
    job_default_time_limit = ""

    # kueue_restart_workers starts a worker over SSH on every listed host where none is connected
    # to the server. It logs in with your ssh-agent's keys and accepts only host keys already in
    # ~/.ssh/known_hosts. Write host:port for an SSH server on another port than 22.
    # [restart_workers]
    # # SSH login name (default: your user name here).
    # ssh_user = "me"
    # hostnames = \"""
    # host01 host02 host03
    # host04 host05:2222
    # \"""
    # sleep_minutes_before_recheck = 60
    # # Started on the host by sh, detached (in screen when the host has it); ~ is the home there.
    # worker_command = "~/.local/bin/kueue_worker"

    # Resources counted across all workers, such as licenses: NAME = how many exist.
    # A job asks for them with `kueue cmd --resource NAME[=N]`.
    # [global_resources]
    # genus = 3
    """
        .formatted(sharedSecret);
  }
}
