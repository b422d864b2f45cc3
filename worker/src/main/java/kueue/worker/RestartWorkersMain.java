package kueue.worker;

import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.AgentProxyException;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.SSHAgentConnector;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import kueue.config.ConfigException;
import kueue.config.ConfigLoader;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import kueue.model.WorkerSummary;
import kueue.protocol.Message;
import kueue.protocol.RequestConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The program {@code kueue_restart_workers}: starts a worker over SSH on every configured host from
 * which no worker is connected to the server.
 */
@Command(
    name = "kueue_restart_workers",
    mixinStandardHelpOptions = true,
    versionProvider = RestartWorkersMain.Version.class,
    description = {
      "Starts a worker over SSH on every host in [restart_workers] hostnames from which no worker"
          + " is connected to the server, then checks again every sleep_minutes_before_recheck"
          + " minutes until stopped.",
      "Logs in as ssh_user with the keys of your ssh-agent (SSH_AUTH_SOCK) and accepts only host"
          + " keys already in ~/.ssh/known_hosts. Exit codes with --once: 0 every host runs a"
          + " worker, 1 some host could not be started, 2 bad configuration or no ssh-agent,"
          + " 3 or 4 the server could not be asked (as for kueue)."
    })
public final class RestartWorkersMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(RestartWorkersMain.class);

  static final Duration SSH_CONNECT_TIMEOUT = Duration.ofSeconds(15);
  static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  /** A JVM that starts in a few seconds on an idle machine may take much longer on a busy one. */
  static final Duration CONNECT_WAIT = Duration.ofSeconds(60);

  /**
   * Run by sh on the host, with the worker command line in place of %s: starts the worker detached
   * from the SSH session, in screen when there is one (so that `screen -r` shows it), else in a
   * session of its own with its output in a log file. A worker that exits within two seconds (no
   * Java, a broken config) is reported with its exit status and what it wrote to the log this time
   * (not the lines an earlier worker left there) instead of as started.
   */
  static final String START_SCRIPT =
      """
      set -- %s
      if ! command -v "$1" >/dev/null 2>&1; then
        echo "$1 not found: install Kueue on this host or set worker_command" >&2
        exit 127
      fi
      if command -v screen >/dev/null 2>&1; then
        screen -dmS kueue_worker "$@" || exit 1
        sleep 2
        if ! screen -ls 2>/dev/null | grep -q '[.]kueue_worker[[:space:]]'; then
          echo "the worker's screen session ended right away: run $1 there to see why" >&2
          exit 1
        fi
        echo "in screen session kueue_worker"
      else
        state=${XDG_STATE_HOME:-$HOME/.local/state}/kueue
        mkdir -p "$state" || exit 1
        log=$state/worker-$(uname -n).log
        before=0
        if [ -f "$log" ]; then
          before=$(wc -c <"$log")
        fi
        if command -v setsid >/dev/null 2>&1; then
          setsid nohup "$@" >>"$log" 2>&1 </dev/null &
        else
          nohup "$@" >>"$log" 2>&1 </dev/null &
        fi
        pid=$!
        sleep 2
        if ! kill -0 "$pid" 2>/dev/null; then
          wait "$pid"
          status=$?
          echo "the worker exited right away with status $status; what it wrote to $log:" >&2
          tail -c +$((before + 1)) "$log" | tail -n 5 >&2
          exit 1
        fi
        echo "process $pid, log $log"
      fi
      """;

  @Option(
      names = {"-c", "--config"},
      paramLabel = "PATH",
      description = "configuration file (default: ~/.config/kueue/config.toml)")
  Path config;

  @Option(names = "--once", description = "check every host once, then exit")
  boolean once;

  @Spec CommandSpec spec;

  private KueueConfig settings;
  private List<HostAddress> hosts;
  private String user;
  private JSch jsch;
  private Path knownHosts;

  public static void main(String[] args) {
    System.exit(
        execute(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
  }

  static int execute(PrintWriter out, PrintWriter err, String... args) {
    return new CommandLine(new RestartWorkersMain())
        .setOut(out)
        .setErr(err)
        .setExecutionExceptionHandler(
            (exception, commandLine, parseResult) -> {
              commandLine.getErr().println("kueue_restart_workers: " + exception.getMessage());
              if (Logging.isDebug()) {
                exception.printStackTrace(commandLine.getErr());
              }
              return 1;
            })
        .execute(args);
  }

  @Override
  public Integer call() throws InterruptedException {
    String problem = setUp();
    if (problem != null) {
      spec.commandLine().getErr().println("kueue_restart_workers: " + problem);
      return 2;
    }
    log.info(
        "kueue_restart_workers {}: {} host(s), login as {}, worker command `{}`",
        KueueVersion.VERSION,
        hosts.size(),
        user,
        settings.restartWorkers().workerCommand());
    if (once) {
      return pass();
    }
    Duration pause = Duration.ofMinutes(settings.restartWorkers().sleepMinutesBeforeRecheck());
    while (true) {
      pass();
      log.info("next check in {} min", pause.toMinutes());
      Thread.sleep(pause);
    }
  }

  /** Reads the settings and the ssh-agent; returns what is wrong, or null. */
  private String setUp() {
    try {
      settings = ConfigLoader.load(config);
    } catch (ConfigException e) {
      return e.getMessage();
    }
    Logging.setLevel(settings.common().logLevel());
    KueueConfig.RestartWorkers restart = settings.restartWorkers();
    if (restart.hostnames().isEmpty()) {
      return "no hosts to check: set hostnames in [restart_workers] of " + settings.file();
    }
    hosts = new ArrayList<>();
    for (String name : restart.hostnames()) {
      try {
        hosts.add(HostAddress.parse(name));
      } catch (IllegalArgumentException e) {
        return settings.file() + ": [restart_workers] hostnames: " + e.getMessage();
      }
    }
    user = restart.sshUser() != null ? restart.sshUser() : System.getProperty("user.name");
    String agentSocket = System.getenv("SSH_AUTH_SOCK");
    if (agentSocket == null || agentSocket.isBlank() || !Files.exists(Path.of(agentSocket))) {
      return "no ssh-agent: SSH_AUTH_SOCK "
          + (agentSocket == null || agentSocket.isBlank()
              ? "is not set"
              : "names " + agentSocket + ", which does not exist")
          + "; start one with eval \"$(ssh-agent)\" and add your key with ssh-add";
    }
    jsch = new JSch();
    knownHosts = Path.of(System.getProperty("user.home"), ".ssh", "known_hosts");
    try {
      jsch.setIdentityRepository(
          new AgentIdentityRepository(new SSHAgentConnector(Path.of(agentSocket))));
      if (Files.exists(knownHosts)) {
        jsch.setKnownHosts(knownHosts.toString());
      }
    } catch (AgentProxyException e) {
      return "cannot use the ssh-agent at " + agentSocket + ": " + e.getMessage();
    } catch (JSchException e) {
      return "cannot read " + knownHosts + ": " + e.getMessage();
    }
    return null;
  }

  /** A worker started in this pass, not yet seen connected. */
  private record Started(HostAddress host, String machine, String how) {}

  /** Checks every host once; returns the exit code for --once. */
  private int pass() throws InterruptedException {
    List<WorkerSummary> workers;
    try {
      workers = connectedWorkers();
    } catch (RequestConnection.Failure e) {
      log.warn("cannot tell which workers are connected, so starting none: {}", e.getMessage());
      return e.kind().exitCode();
    }
    boolean allRunning = true;
    Map<String, Started> started = new HashMap<>();
    for (HostAddress host : hosts) {
      Optional<WorkerSummary> worker = workerFrom(workers, host.host());
      if (worker.isPresent()) {
        log.info("{}: already running ({})", host, describe(worker.get()));
        continue;
      }
      try (RemoteShell shell =
          RemoteShell.connect(jsch, knownHosts, user, host, SSH_CONNECT_TIMEOUT)) {
        String machine = machineName(shell);
        worker = workerFrom(workers, machine);
        if (worker.isPresent()) {
          log.info("{}: already running on {} ({})", host, machine, describe(worker.get()));
        } else if (started.containsKey(HostAddress.machineName(machine))) {
          log.info(
              "{}: is {}, where a worker was just started through {}",
              host,
              machine,
              started.get(HostAddress.machineName(machine)).host());
        } else {
          String how = start(shell);
          log.info("{}: started a worker on {} ({})", host, machine, how);
          started.put(HostAddress.machineName(machine), new Started(host, machine, how));
        }
      } catch (RemoteShell.RemoteException e) {
        log.warn("{}: failed: {}", host, e.getMessage());
        allRunning = false;
      } catch (RuntimeException e) {
        // One host must not stop the others, whatever the SSH library throws for it.
        log.warn("{}: failed: {}", host, e.toString(), e);
        allRunning = false;
      }
    }
    if (!awaitConnected(new ArrayList<>(started.values()))) {
      allRunning = false;
    }
    return allRunning ? 0 : 1;
  }

  /** The host's own name, which its worker reports. */
  private static String machineName(RemoteShell shell) throws RemoteShell.RemoteException {
    RemoteShell.Output output = shell.run("uname -n", null, COMMAND_TIMEOUT);
    String name = output.stdout().strip();
    if (output.exitStatus() != 0 || name.isEmpty() || name.contains("\n")) {
      throw new RemoteShell.RemoteException(
          "`uname -n` did not give the host's name (exit status "
              + output.exitStatus()
              + "): "
              + (output.stderr().isBlank() ? output.stdout() : output.stderr()).strip());
    }
    return name;
  }

  /** Starts the worker detached; returns how, for the log. */
  private String start(RemoteShell shell) throws RemoteShell.RemoteException {
    // The script goes in on stdin, not on the command line, so that the user's login shell,
    // whatever it is (csh, fish), only has to run `sh -s`.
    RemoteShell.Output output =
        shell.run(
            "sh -s",
            START_SCRIPT.formatted(settings.restartWorkers().workerCommand()),
            COMMAND_TIMEOUT);
    if (output.exitStatus() != 0) {
      // One line: the log escapes line breaks in what it is given.
      String why =
          String.join(" | ", output.stderr().strip().lines().toList()).replace(": | ", ": ");
      throw new RemoteShell.RemoteException(
          "could not start a worker (exit status "
              + output.exitStatus()
              + ")"
              + (why.isEmpty() ? "" : ": " + why));
    }
    return output.stdout().strip();
  }

  /**
   * Waits until a worker from every started host is connected, up to {@link #CONNECT_WAIT}: a
   * started process is not yet a running worker.
   */
  private boolean awaitConnected(List<Started> pending) throws InterruptedException {
    long deadline = System.nanoTime() + CONNECT_WAIT.toNanos();
    while (!pending.isEmpty()) {
      try {
        List<WorkerSummary> workers = connectedWorkers();
        pending.removeIf(
            started -> {
              Optional<WorkerSummary> worker = workerFrom(workers, started.machine());
              worker.ifPresent(w -> log.info("{}: connected ({})", started.host(), describe(w)));
              return worker.isPresent();
            });
      } catch (RequestConnection.Failure e) {
        log.warn("cannot ask the server whether the new workers connected: {}", e.getMessage());
      }
      if (pending.isEmpty() || System.nanoTime() - deadline > 0) {
        break;
      }
      Thread.sleep(500);
    }
    for (Started started : pending) {
      log.warn(
          "{}: failed: a worker was started on {} ({}), but none from it connected within {} s",
          started.host(),
          started.machine(),
          started.how(),
          CONNECT_WAIT.toSeconds());
    }
    return pending.isEmpty();
  }

  /** The same request as `kueue list-workers`. */
  private List<WorkerSummary> connectedWorkers() throws RequestConnection.Failure {
    KueueConfig.Common common = settings.common();
    try (RequestConnection client =
        RequestConnection.connect(
            new RequestConnection.Settings(
                common.serverName(),
                common.serverPort(),
                common.sharedSecret(),
                common.encrypted(),
                common.serverKeyFile(),
                settings.file()),
            "kueue " + KueueVersion.VERSION)) {
      return client.request(new Message.ListWorkers(), Message.WorkerList.class).workers();
    }
  }

  /** A connected worker that reports {@code machine} as its host name, or is named so. */
  private static Optional<WorkerSummary> workerFrom(List<WorkerSummary> workers, String machine) {
    String wanted = HostAddress.machineName(machine);
    return workers.stream()
        .filter(
            worker ->
                (worker.system() != null
                        && worker.system().hostname() != null
                        && HostAddress.machineName(worker.system().hostname()).equals(wanted))
                    || (worker.name() != null
                        && HostAddress.machineName(worker.name()).equals(wanted)))
        .findFirst();
  }

  private static String describe(WorkerSummary worker) {
    return "worker " + worker.id() + " \"" + worker.name() + "\"";
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue_restart_workers " + KueueVersion.VERSION};
    }
  }
}
