package kueue.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.PeerConnection;
import kueue.protocol.TransportSecurity;

/**
 * The chaos run behind {@code bench/chaos}: one server and some workers on 127.0.0.1 in a temporary
 * home, a stream of short jobs, and SIGKILLs of the server and of workers at random moments (each
 * restarted). Then it checks, from the client's view, from the database and from a log the jobs
 * write themselves, that every acknowledged job exists and finished exactly once and that no two
 * runs of one job overlapped in time. Prints the counts; {@link #main} exits 1 on any violation.
 */
public final class Chaos {
  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
  private static final String CLASSPATH = System.getProperty("java.class.path");
  private static final int BATCH = 20;

  // Each job logs its runs itself, independently of Kueue: "start", then "end" or, when it is
  // killed (TERM, which the worker and its reaper send first), "killed". The trap comes first so
  // that a run killed at once still leaves a line.
  //
  // A flaky job ($3 = flaky) fails its first run: it leaves a marker and exits 3 with a "failed"
  // line, and a later run, seeing the marker, runs normally. Its retries bring it to success.
  private static final String JOB_SCRIPT =
      """
      trap 'echo "killed $KUEUE_JOB_ID $$ $(date +%s%N)" >> "$1"; exit 143' TERM
      echo "start $KUEUE_JOB_ID $$ $(date +%s%N)" >> "$1"
      if [ "$3" = flaky ] && [ ! -e "flaky-$KUEUE_JOB_ID" ]; then
        : > "flaky-$KUEUE_JOB_ID"
        echo "failed $KUEUE_JOB_ID $$ $(date +%s%N)" >> "$1"
        exit 3
      fi
      sleep "$2" & wait $!
      echo "end $KUEUE_JOB_ID $$ $(date +%s%N)" >> "$1"
      """;

  /**
   * What a job of the run is: most are plain; the others try the workflow features under the same
   * kills. A dependent waits for an earlier plain job (afterok); a flaky one fails once and has
   * retries; a timed one sleeps far past its time limit and must end as timed out.
   */
  enum Kind {
    PLAIN,
    DEPENDENT,
    FLAKY,
    TIMED
  }

  /** The time limit of timed jobs; they would sleep 60 s. */
  private static final long TIME_LIMIT_SECONDS = 2;

  /** What to do; see {@link #usage()}. */
  public record Options(
      int jobs,
      int workers,
      int serverKills,
      int workerKills,
      long seed,
      Duration timeLimit,
      Path directory,
      boolean keep) {
    public static Options defaults() {
      return new Options(1000, 2, 3, 3, System.nanoTime(), Duration.ofMinutes(8), null, false);
    }
  }

  /** The counts of one run and what was wrong. */
  public record Report(List<String> lines, List<String> violations) {
    public boolean ok() {
      return violations.isEmpty();
    }
  }

  private final Options options;
  private final Random random;

  /**
   * The jobs' kinds and lengths, apart from {@link #random}, which the kill schedule draws from on
   * another thread: a seed repeats both.
   */
  private final Random jobRandom;

  private final PrintStream out;
  private final Path home;
  private final Path log;
  private final Path work;
  private final String secret;
  private final int port;
  private final Map<String, Process> processes = new ConcurrentHashMap<>();
  private final List<Process> everything = new ArrayList<>();
  private final List<String> events = new ArrayList<>();
  private final long startNanos = System.nanoTime();

  private Chaos(Options options, PrintStream out) throws IOException {
    this.options = options;
    this.random = new Random(options.seed());
    this.jobRandom = new Random(~options.seed());
    this.out = out;
    this.home =
        options.directory() != null
            ? Files.createDirectories(options.directory())
            : Files.createTempDirectory("kueue-chaos-");
    this.log = home.resolve("runs.log");
    this.work = Files.createDirectories(home.resolve("work"));
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    this.secret = HexFormat.of().formatHex(bytes);
    this.port = freePort();
  }

  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("chaos: " + e.getMessage());
      System.err.println(usage());
      System.exit(2);
      return;
    }
    Report report = run(options, System.out);
    System.exit(report.ok() ? 0 : 1);
  }

  static String usage() {
    return """
    usage: chaos [--jobs N] [--workers N] [--server-kills N] [--worker-kills N] [--seed N]
                 [--time-limit SECONDS] [--dir DIR] [--keep]\
    """;
  }

  static Options parse(String[] args) {
    Options o = Options.defaults();
    for (int i = 0; i < args.length; i++) {
      String name = args[i];
      if (name.equals("--keep")) {
        o =
            new Options(
                o.jobs(),
                o.workers(),
                o.serverKills(),
                o.workerKills(),
                o.seed(),
                o.timeLimit(),
                o.directory(),
                true);
        continue;
      }
      if (name.equals("-h") || name.equals("--help")) {
        throw new IllegalArgumentException("help");
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(name + " needs a value");
      }
      String value = args[++i];
      try {
        o =
            switch (name) {
              case "--jobs" ->
                  new Options(
                      Integer.parseInt(value),
                      o.workers(),
                      o.serverKills(),
                      o.workerKills(),
                      o.seed(),
                      o.timeLimit(),
                      o.directory(),
                      o.keep());
              case "--workers" ->
                  new Options(
                      o.jobs(),
                      Integer.parseInt(value),
                      o.serverKills(),
                      o.workerKills(),
                      o.seed(),
                      o.timeLimit(),
                      o.directory(),
                      o.keep());
              case "--server-kills" ->
                  new Options(
                      o.jobs(),
                      o.workers(),
                      Integer.parseInt(value),
                      o.workerKills(),
                      o.seed(),
                      o.timeLimit(),
                      o.directory(),
                      o.keep());
              case "--worker-kills" ->
                  new Options(
                      o.jobs(),
                      o.workers(),
                      o.serverKills(),
                      Integer.parseInt(value),
                      o.seed(),
                      o.timeLimit(),
                      o.directory(),
                      o.keep());
              case "--seed" ->
                  new Options(
                      o.jobs(),
                      o.workers(),
                      o.serverKills(),
                      o.workerKills(),
                      Long.parseLong(value),
                      o.timeLimit(),
                      o.directory(),
                      o.keep());
              case "--time-limit" ->
                  new Options(
                      o.jobs(),
                      o.workers(),
                      o.serverKills(),
                      o.workerKills(),
                      o.seed(),
                      Duration.ofSeconds(Long.parseLong(value)),
                      o.directory(),
                      o.keep());
              case "--dir" ->
                  new Options(
                      o.jobs(),
                      o.workers(),
                      o.serverKills(),
                      o.workerKills(),
                      o.seed(),
                      o.timeLimit(),
                      Path.of(value),
                      o.keep());
              default -> throw new IllegalArgumentException("unknown option " + name);
            };
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " needs a number, got " + value);
      }
    }
    if (o.jobs() < 1 || o.workers() < 1 || o.serverKills() < 0 || o.workerKills() < 0) {
      throw new IllegalArgumentException("counts must be positive");
    }
    return o;
  }

  /** Runs the whole scenario and prints the report to out. */
  public static Report run(Options options, PrintStream out) throws Exception {
    Chaos chaos = new Chaos(options, out);
    Thread cleanup = new Thread(chaos::killEverything);
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      return chaos.execute();
    } finally {
      chaos.killEverything();
      Runtime.getRuntime().removeShutdownHook(cleanup);
      if (!options.keep()) {
        chaos.deleteHome();
      }
    }
  }

  private Report execute() throws Exception {
    out.printf(
        "chaos: %d jobs, %d workers, %d server kills, %d worker kills, seed %d, in %s%n",
        options.jobs(),
        options.workers(),
        options.serverKills(),
        options.workerKills(),
        options.seed(),
        home);
    writeConfigs();
    startServer();
    for (int w = 1; w <= options.workers(); w++) {
      startWorker("w" + w);
    }
    // Submissions are spread over a while, and the kills fall into that time, so that they hit
    // running jobs, jobs being placed and submissions under way.
    Duration submitTime = Duration.ofMillis(Math.max(10_000, options.jobs() * 40L));
    Submitter submitter = new Submitter(submitTime);
    Thread submitting = Thread.ofPlatform().name("submit").start(submitter);
    List<Runnable> kills = schedule(submitTime.plusSeconds(3));
    for (Runnable kill : kills) {
      kill.run();
    }
    submitting.join(options.timeLimit().toMillis());
    if (submitting.isAlive() || submitter.failure != null) {
      throw new IllegalStateException("submitting did not finish", submitter.failure);
    }
    awaitAllEnded(submitter);
    List<String> lines = new ArrayList<>();
    List<String> violations = new ArrayList<>();
    lines.add(
        String.format(
            "submitted: %d jobs acknowledged in %d submissions (%d submissions retried after the"
                + " server was killed)",
            submitter.acknowledged.size(), submitter.requests, submitter.retries));
    lines.add("kills: " + String.join(", ", events));
    Map<Long, JsonNode> clientView = clientView();
    stopFleet();
    DatabaseView database = databaseView();
    JobLog runs = JobLog.read(log);
    check(submitter.acknowledged, clientView, database, runs, lines, violations);
    lines.add(String.format("time: %d s", (System.nanoTime() - startNanos) / 1_000_000_000L));
    lines.add(violations.isEmpty() ? "result: OK" : "result: " + violations.size() + " VIOLATIONS");
    lines.forEach(line -> out.println("  " + line));
    violations.forEach(line -> out.println("  VIOLATION: " + line));
    return new Report(lines, violations);
  }

  // ---- the fleet

  private void writeConfigs() throws IOException {
    writeConfig("server", "");
    for (int w = 1; w <= options.workers(); w++) {
      writeConfig("w" + w, "worker_name = \"w" + w + "\"\n");
    }
    writeConfig("client", "");
  }

  private Path config(String name) {
    return home.resolve(name + ".toml");
  }

  private void writeConfig(String name, String workerLines) throws IOException {
    Path file = config(name);
    Files.writeString(
        file,
        """
        [common]
        shared_secret = "%s"
        server_name = "127.0.0.1"
        server_port = %d
        log_level = "info"
        [server]
        address_bindings = "127.0.0.1"
        worker_timeout_seconds = 6
        job_offer_timeout_seconds = 10
        job_max_attempts = 50
        global_max_parallel_jobs = 100
        data_directory = "%s"
        [worker]
        worker_max_parallel_jobs = 8
        dynamic_check_free_resources = false
        heartbeat_interval_seconds = 1
        %s
        [client]
        job_default_cpus = 1
        job_default_ram_mb = 10
        """
            .formatted(secret, port, home.resolve("data"), workerLines));
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
  }

  private Process launch(String name, String mainClass, String heap, String... args)
      throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                JAVA,
                "--enable-native-access=ALL-UNNAMED",
                heap,
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                CLASSPATH,
                mainClass));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(home.resolve(name + ".log").toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    builder.environment().put("HOME", home.toString());
    builder.environment().remove("XDG_CONFIG_HOME");
    builder.environment().remove("XDG_DATA_HOME");
    Process process = builder.start();
    synchronized (everything) {
      everything.add(process);
    }
    return process;
  }

  private void startServer() throws Exception {
    int before = count(home.resolve("server.log"), "listening on");
    processes.put(
        "server",
        launch("server", "kueue.server.ServerMain", "-Xmx512m", "-c", config("server").toString()));
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (count(home.resolve("server.log"), "listening on") <= before) {
      if (System.nanoTime() > deadline || !processes.get("server").isAlive()) {
        throw new IllegalStateException(
            "the server did not start; see " + home.resolve("server.log"));
      }
      Thread.sleep(50);
    }
  }

  private void startWorker(String name) throws IOException {
    processes.put(
        name, launch(name, "kueue.worker.WorkerMain", "-Xmx128m", "-c", config(name).toString()));
  }

  private void sigkill(String name) throws InterruptedException {
    Process process = processes.get(name);
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** Kill times at random moments within the window, server and workers interleaved. */
  private List<Runnable> schedule(Duration window) {
    TreeMap<Long, String> plan = new TreeMap<>();
    long windowMillis = window.toMillis();
    for (int i = 0; i < options.serverKills(); i++) {
      plan.put(uniqueMoment(plan, windowMillis), "server");
    }
    for (int i = 0; i < options.workerKills(); i++) {
      plan.put(uniqueMoment(plan, windowMillis), "w" + (1 + random.nextInt(options.workers())));
    }
    List<Runnable> steps = new ArrayList<>();
    for (Map.Entry<Long, String> entry : plan.entrySet()) {
      long at = entry.getKey();
      String victim = entry.getValue();
      long restartAfter = 200 + random.nextInt(2_800);
      steps.add(() -> killAndRestart(at, victim, restartAfter));
    }
    return steps;
  }

  private long uniqueMoment(TreeMap<Long, String> plan, long windowMillis) {
    while (true) {
      long at = 2_000 + (long) (random.nextDouble() * windowMillis);
      Long below = plan.floorKey(at);
      Long above = plan.ceilingKey(at);
      if ((below == null || at - below > 1_500) && (above == null || above - at > 1_500)) {
        return at;
      }
    }
  }

  private void killAndRestart(long atMillis, String victim, long restartAfterMillis) {
    try {
      long wait = atMillis - (System.nanoTime() - startNanos) / 1_000_000;
      if (wait > 0) {
        Thread.sleep(wait);
      }
      sigkill(victim);
      events.add(
          String.format(
              "%s at %.1fs (back after %.1fs)",
              victim, (System.nanoTime() - startNanos) / 1e9, restartAfterMillis / 1000.0));
      Thread.sleep(restartAfterMillis);
      if (victim.equals("server")) {
        startServer();
      } else {
        startWorker(victim);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot kill and restart " + victim, e);
    }
  }

  private void stopFleet() throws InterruptedException {
    for (Map.Entry<String, Process> entry : processes.entrySet()) {
      if (!entry.getKey().equals("server")) {
        entry.getValue().destroy();
      }
    }
    for (Map.Entry<String, Process> entry : processes.entrySet()) {
      if (!entry.getKey().equals("server")) {
        entry.getValue().waitFor(30, TimeUnit.SECONDS);
      }
    }
    processes.get("server").destroy();
    processes.get("server").waitFor(30, TimeUnit.SECONDS);
  }

  private void killEverything() {
    List<Process> all;
    synchronized (everything) {
      all = List.copyOf(everything);
    }
    for (Process process : all) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  private void deleteHome() {
    try (var paths = Files.walk(home)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      out.println("  (could not delete " + home + ": " + e.getMessage() + ")");
    }
  }

  // ---- submitting

  private PeerConnection client() throws Exception {
    return PeerConnection.open(
        "127.0.0.1",
        port,
        secret,
        "client",
        "chaos",
        Duration.ofSeconds(10),
        TransportSecurity.client(config("client").resolveSibling("server-key.pub")));
  }

  /** Submits the jobs in batches of 20 over time; a batch the server did not answer is retried. */
  private final class Submitter implements Runnable {
    final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();

    /** The kind of each acknowledged job, and the parent of each dependent. */
    final Map<Long, Kind> kinds = new ConcurrentHashMap<>();

    final Map<Long, Long> parents = new ConcurrentHashMap<>();

    /** Acknowledged plain jobs, which dependents may wait for. */
    final List<Long> plainJobs = new ArrayList<>();

    final Duration spread;
    int requests;
    int retries;
    volatile Exception failure;

    Submitter(Duration spread) {
      this.spread = spread;
    }

    @Override
    public void run() {
      try {
        int left = options.jobs();
        long pause = spread.toMillis() / ((options.jobs() + BATCH - 1) / BATCH);
        while (left > 0) {
          int size = Math.min(BATCH, left);
          List<JobSpec> specs = new ArrayList<>();
          List<Kind> batchKinds = new ArrayList<>();
          List<Long> batchParents = new ArrayList<>();
          for (int i = 0; i < size; i++) {
            Kind kind = nextKind();
            if (kind == Kind.DEPENDENT && plainJobs.isEmpty()) {
              kind = Kind.PLAIN;
            }
            String seconds =
                kind == Kind.TIMED
                    ? "60"
                    : String.format(
                        java.util.Locale.ROOT, "%.2f", 0.05 + jobRandom.nextDouble() * 0.95);
            JobSpecBuilder spec =
                JobSpecBuilder.builder()
                    .argv(
                        List.of(
                            "sh",
                            "-c",
                            JOB_SCRIPT,
                            "chaos-" + kind.name().toLowerCase(java.util.Locale.ROOT),
                            log.toString(),
                            seconds,
                            kind == Kind.FLAKY ? "flaky" : "-"))
                    .cwd(work.toString())
                    .env(Map.of("PATH", "/usr/local/bin:/usr/bin:/bin"))
                    .slots(1)
                    .cpus(1)
                    .ramMb(10)
                    .globalResources(Map.of())
                    .stdout("null")
                    .stderr("null");
            Long parent = null;
            switch (kind) {
              case DEPENDENT -> {
                parent = plainJobs.get(jobRandom.nextInt(plainJobs.size()));
                spec.dependencies(
                    List.of(
                        new kueue.model.Dependency(kueue.model.DependencyKind.AFTEROK, parent)));
              }
              case FLAKY -> spec.retries(3);
              case TIMED -> spec.timeLimitSeconds(TIME_LIMIT_SECONDS);
              case PLAIN -> {}
            }
            specs.add(spec.build());
            batchKinds.add(kind);
            batchParents.add(parent);
          }
          List<Long> ids;
          while ((ids = submit(specs)) == null) {
            retries++;
            Thread.sleep(300);
          }
          for (int i = 0; i < ids.size(); i++) {
            kinds.put(ids.get(i), batchKinds.get(i));
            if (batchParents.get(i) != null) {
              parents.put(ids.get(i), batchParents.get(i));
            }
            if (batchKinds.get(i) == Kind.PLAIN) {
              plainJobs.add(ids.get(i));
            }
          }
          left -= size;
          Thread.sleep(pause);
        }
      } catch (Exception e) {
        failure = e;
      }
    }

    /** The new jobs' ids in the order of specs, or null when the server did not answer. */
    private List<Long> submit(List<JobSpec> specs) {
      requests++;
      try (PeerConnection connection = client()) {
        connection.send(new Message.Submit(specs));
        Message reply = connection.receive();
        if (reply instanceof Message.Submitted submitted) {
          acknowledged.addAll(submitted.ids());
          return submitted.ids();
        }
        throw new IllegalStateException("submission refused: " + reply);
      } catch (IllegalStateException e) {
        throw e;
      } catch (Exception e) {
        return null; // the server is down or went down meanwhile
      }
    }
  }

  private Kind nextKind() {
    double roll = jobRandom.nextDouble();
    if (roll < 0.12) {
      return Kind.DEPENDENT;
    }
    if (roll < 0.22) {
      return Kind.FLAKY;
    }
    if (roll < 0.26) {
      return Kind.TIMED;
    }
    return Kind.PLAIN;
  }

  private void awaitAllEnded(Submitter submitter) throws Exception {
    long deadline = startNanos + options.timeLimit().toNanos();
    while (System.nanoTime() < deadline) {
      try (PeerConnection connection = client()) {
        connection.send(new Message.ListJobs(1, List.of()));
        if (connection.receive() instanceof Message.JobList list) {
          var stats = list.stats();
          if (stats.pending() + stats.offered() + stats.running() + stats.waiting() + stats.held()
              == 0) {
            return;
          }
        }
      } catch (Exception serverRestarting) {
        // try again
      }
      Thread.sleep(500);
    }
    throw new IllegalStateException(
        "jobs still unfinished after " + options.timeLimit().toSeconds() + " s");
  }

  // ---- the three views

  /** What {@code kueue list-jobs --json -n 0} says, by job id. */
  private Map<Long, JsonNode> clientView() throws Exception {
    List<String> command =
        List.of(
            JAVA,
            "--enable-native-access=ALL-UNNAMED",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-cp",
            CLASSPATH,
            "kueue.client.KueueCli",
            "-c",
            config("client").toString(),
            "list-jobs",
            "--json",
            "-n",
            "0");
    Path output = home.resolve("list-jobs.json");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectOutput(output.toFile())
            .redirectError(ProcessBuilder.Redirect.appendTo(home.resolve("client.log").toFile()));
    builder.environment().put("HOME", home.toString());
    Process cli = builder.start();
    if (!cli.waitFor(60, TimeUnit.SECONDS) || cli.exitValue() != 0) {
      cli.destroyForcibly();
      throw new IllegalStateException("kueue list-jobs failed; see " + home.resolve("client.log"));
    }
    JsonNode root = MessageCodec.mapper().readTree(output.toFile());
    Map<Long, JsonNode> jobs = new TreeMap<>();
    root.get("jobs").forEach(job -> jobs.put(job.get("id").asLong(), job));
    return jobs;
  }

  /**
   * @param jobs per job: id, state, exit code, attempt, and its {@link Kind} (from its command)
   * @param parents the parent of each dependent
   */
  private record DatabaseView(
      String source,
      Map<Long, String[]> jobs,
      Map<Long, Integer> results,
      Map<Long, Integer> gaveUp,
      Map<Long, Long> parents) {
    Kind kind(long id) {
      String[] row = jobs.get(id);
      return row == null ? Kind.PLAIN : Kind.valueOf(row[4]);
    }
  }

  /** The database read directly: with the sqlite3 program when installed, else over JDBC. */
  private DatabaseView databaseView() throws Exception {
    Path database = home.resolve("data").resolve("kueue.db");
    // Unacknowledged jobs (their answer was lost in a kill) are checked too: their kind is read
    // from their command, which names it.
    String jobsQuery =
        "SELECT id, state, coalesce(exit_code, 'null'), attempt, CASE"
            + " WHEN instr(argv, 'chaos-flaky') > 0 THEN 'FLAKY'"
            + " WHEN instr(argv, 'chaos-timed') > 0 THEN 'TIMED'"
            + " WHEN instr(argv, 'chaos-dependent') > 0 THEN 'DEPENDENT' ELSE 'PLAIN' END"
            + " FROM jobs";
    String parentsQuery = "SELECT job_id, parent_id FROM job_dependencies";
    // A job's ended line is a history row, or kept in the job's row (schema version 3).
    String resultsQuery =
        "SELECT job_id, count(*) FROM (SELECT job_id FROM job_events WHERE what = 'ended'"
            + " UNION ALL SELECT id FROM jobs WHERE history_ended IS NOT NULL) GROUP BY job_id";
    String failedQuery =
        "SELECT job_id, count(*) FROM job_events WHERE what = 'failed' GROUP BY job_id";
    boolean cli = onPath("sqlite3");
    List<String[]> jobRows = cli ? sqlite3(database, jobsQuery) : jdbc(database, jobsQuery);
    List<String[]> resultRows =
        cli ? sqlite3(database, resultsQuery) : jdbc(database, resultsQuery);
    List<String[]> failedRows = cli ? sqlite3(database, failedQuery) : jdbc(database, failedQuery);
    List<String[]> parentRows =
        cli ? sqlite3(database, parentsQuery) : jdbc(database, parentsQuery);
    Map<Long, Long> parents = new HashMap<>();
    parentRows.forEach(row -> parents.put(Long.parseLong(row[0]), Long.parseLong(row[1])));
    Map<Long, String[]> jobs = new TreeMap<>();
    jobRows.forEach(row -> jobs.put(Long.parseLong(row[0]), row));
    Map<Long, Integer> results = new HashMap<>();
    resultRows.forEach(row -> results.put(Long.parseLong(row[0]), Integer.parseInt(row[1])));
    Map<Long, Integer> gaveUp = new HashMap<>();
    failedRows.forEach(row -> gaveUp.put(Long.parseLong(row[0]), Integer.parseInt(row[1])));
    return new DatabaseView(cli ? "sqlite3" : "JDBC", jobs, results, gaveUp, parents);
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String directory : path.split(":")) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, program))) {
        return true;
      }
    }
    return false;
  }

  private static List<String[]> sqlite3(Path database, String query) throws Exception {
    Process process =
        new ProcessBuilder("sqlite3", "-readonly", "-separator", " ", database.toString(), query)
            .redirectErrorStream(true)
            .start();
    String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new IllegalStateException("sqlite3 failed: " + text);
    }
    return text.lines().filter(line -> !line.isBlank()).map(line -> line.split(" ")).toList();
  }

  private static List<String[]> jdbc(Path database, String query) throws SQLException {
    List<String[]> rows = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + database);
        Statement statement = connection.createStatement();
        ResultSet result = statement.executeQuery(query)) {
      int columns = result.getMetaData().getColumnCount();
      while (result.next()) {
        String[] row = new String[columns];
        for (int c = 0; c < columns; c++) {
          row[c] = result.getString(c + 1);
        }
        rows.add(row);
      }
    }
    return rows;
  }

  /** The runs each job logged itself, by job id. */
  record JobLog(Map<Long, List<Run>> runs, int unreadable) {
    record Run(long pid, long start, long end, String how) {}

    static JobLog read(Path file) throws IOException {
      Map<Long, Map<Long, long[]>> byJob = new TreeMap<>();
      Map<Long, Map<Long, String>> hows = new HashMap<>();
      int unreadable = 0;
      List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
      for (String line : lines) {
        String[] parts = line.trim().split(" ");
        if (parts.length != 4) {
          unreadable++;
          continue;
        }
        long job;
        long pid;
        long time;
        try {
          job = Long.parseLong(parts[1]);
          pid = Long.parseLong(parts[2]);
          time = Long.parseLong(parts[3]);
        } catch (NumberFormatException e) {
          unreadable++;
          continue;
        }
        long[] run =
            byJob
                .computeIfAbsent(job, j -> new LinkedHashMap<>())
                .computeIfAbsent(pid, p -> new long[] {-1, -1});
        switch (parts[0]) {
          case "start" -> run[0] = time;
          case "end", "killed", "failed" -> {
            run[1] = Math.max(run[1], time);
            hows.computeIfAbsent(job, j -> new HashMap<>())
                .merge(
                    pid,
                    parts[0],
                    (a, b) -> a.equals("killed") || b.equals("killed") ? "killed" : b);
          }
          default -> unreadable++;
        }
      }
      Map<Long, List<Run>> runs = new TreeMap<>();
      byJob.forEach(
          (job, pids) -> {
            List<Run> list = new ArrayList<>();
            pids.forEach(
                (pid, times) ->
                    list.add(
                        new Run(
                            pid,
                            times[0] >= 0 ? times[0] : times[1],
                            times[1],
                            hows.getOrDefault(job, Map.of()).getOrDefault(pid, "none"))));
            list.sort(java.util.Comparator.comparingLong(Run::start));
            runs.put(job, list);
          });
      return new JobLog(runs, unreadable);
    }
  }

  private static void check(
      Set<Long> acknowledged,
      Map<Long, JsonNode> client,
      DatabaseView database,
      JobLog log,
      List<String> lines,
      List<String> violations) {
    // Every job the server stored was meant to run, acknowledged or not (a submission cut off by
    // a kill may be stored without its answer): all must finish exactly once.
    Set<Long> all = new TreeSet<>(acknowledged);
    all.addAll(database.jobs().keySet());
    int unacknowledged = all.size() - acknowledged.size();

    int listed = 0;
    int finishedOk = 0;
    for (long id : acknowledged) {
      JsonNode job = client.get(id);
      if (job == null) {
        violations.add("client view: acknowledged job " + id + " is missing");
        continue;
      }
      listed++;
      boolean timed = database.kind(id) == Kind.TIMED;
      boolean asExpected =
          timed
              ? job.get("state").asText().equals("TIMED_OUT")
              : job.get("state").asText().equals("FINISHED")
                  && !job.get("exitCode").isNull()
                  && job.get("exitCode").asInt() == 0;
      if (!asExpected) {
        violations.add(
            "client view: job "
                + id
                + " is "
                + job.get("state").asText()
                + " with exit code "
                + job.get("exitCode")
                + ": "
                + job.get("note"));
      } else {
        finishedOk++;
      }
    }
    lines.add(
        String.format(
            "client view (kueue list-jobs --json): %d of %d acknowledged jobs"
                + " listed, %d finished as expected (exit code 0, or timed out), %d missing",
            listed, acknowledged.size(), finishedOk, acknowledged.size() - listed));

    int stored = 0;
    int once = 0;
    Map<Kind, Integer> kinds = new TreeMap<>();
    Map<Integer, Integer> attempts = new TreeMap<>();
    for (long id : all) {
      String[] row = database.jobs().get(id);
      if (row == null) {
        violations.add("database: acknowledged job " + id + " is missing");
        continue;
      }
      stored++;
      int results = database.results().getOrDefault(id, 0);
      Kind kind = database.kind(id);
      kinds.merge(kind, 1, Integer::sum);
      // A flaky job's failed attempts are recorded too, one line each, before its last.
      boolean asExpected =
          switch (kind) {
            case TIMED -> row[1].equals("TIMED_OUT") && results == 1;
            case FLAKY ->
                row[1].equals("FINISHED")
                    && row[2].equals("0")
                    && results >= 2
                    && Integer.parseInt(row[3]) >= 2;
            case PLAIN, DEPENDENT ->
                row[1].equals("FINISHED") && row[2].equals("0") && results == 1;
          };
      if (!asExpected || database.gaveUp().containsKey(id)) {
        violations.add(
            "database: job "
                + id
                + " is "
                + row[1]
                + " with exit code "
                + row[2]
                + " and "
                + results
                + " results recorded (a "
                + kind.name().toLowerCase(java.util.Locale.ROOT)
                + " job)");
      } else {
        once++;
      }
      attempts.merge(Integer.parseInt(row[3]), 1, Integer::sum);
    }
    lines.add(
        String.format(
            "database (%s): %d jobs stored (%d acknowledged, %d stored without"
                + " acknowledgement), %d ended as expected, once, %d missing",
            database.source(),
            stored,
            acknowledged.size(),
            unacknowledged,
            once,
            all.size() - stored));
    lines.add("kinds of jobs: " + kinds);
    lines.add(
        "attempt of each job's result: "
            + attempts.entrySet().stream()
                .map(e -> "#" + e.getKey() + " " + e.getValue() + " jobs")
                .toList());

    int runs = 0;
    int completed = 0;
    int killed = 0;
    int repeated = 0;
    int overlaps = 0;
    int failed = 0;
    int dependentsAfterParent = 0;
    for (long id : all) {
      List<JobLog.Run> jobRuns = log.runs().getOrDefault(id, List.of());
      if (jobRuns.isEmpty()) {
        violations.add("job log: job " + id + " never ran");
        continue;
      }
      if (jobRuns.size() > 1) {
        repeated++;
      }
      for (int i = 0; i < jobRuns.size(); i++) {
        JobLog.Run run = jobRuns.get(i);
        runs++;
        switch (run.how()) {
          case "end" -> completed++;
          case "killed" -> killed++;
          case "failed" -> failed++;
          default ->
              violations.add(
                  "job log: run "
                      + run.pid()
                      + " of job "
                      + id
                      + " started and never ended or was killed (still running?)");
        }
        if (i > 0 && jobRuns.get(i - 1).end() > run.start()) {
          overlaps++;
          violations.add(
              String.format(
                  "job log: runs of job %d overlapped: pid %d until %d," + " pid %d from %d",
                  id, jobRuns.get(i - 1).pid(), jobRuns.get(i - 1).end(), run.pid(), run.start()));
        }
      }
      Kind kind = database.kind(id);
      if (kind == Kind.TIMED) {
        if (jobRuns.stream().anyMatch(run -> run.how().equals("end"))) {
          violations.add("job log: job " + id + " ran to its end past its time limit");
        }
      } else if (jobRuns.stream().noneMatch(run -> run.how().equals("end"))) {
        violations.add("job log: job " + id + " never ran to its end");
      }
      if (kind == Kind.FLAKY && jobRuns.stream().noneMatch(run -> run.how().equals("failed"))) {
        violations.add("job log: flaky job " + id + " never failed");
      }
      Long parent = database.parents().get(id);
      if (kind == Kind.DEPENDENT) {
        List<JobLog.Run> parentRuns =
            parent == null ? List.of() : log.runs().getOrDefault(parent, List.of());
        long parentEnd =
            parentRuns.stream()
                .filter(run -> run.how().equals("end"))
                .mapToLong(JobLog.Run::end)
                .max()
                .orElse(Long.MAX_VALUE);
        if (parent == null || jobRuns.getFirst().start() < parentEnd) {
          violations.add(
              "job log: dependent job "
                  + id
                  + " started before its parent "
                  + parent
                  + " had run to its end");
        } else {
          dependentsAfterParent++;
        }
      }
    }
    lines.add(
        String.format(
            "job log: %d runs of %d jobs: %d ran to the end, %d failed on purpose (flaky), %d"
                + " killed (time limit, or worker SIGKILLed or cut off); %d jobs ran more than"
                + " once; %d overlapping runs; %d of %d dependents started after their parent's"
                + " end; %d unreadable lines",
            runs,
            all.size(),
            completed,
            failed,
            killed,
            repeated,
            overlaps,
            dependentsAfterParent,
            kinds.getOrDefault(Kind.DEPENDENT, 0),
            log.unreadable()));
  }

  // ---- small helpers

  private static int count(Path file, String text) {
    try {
      return Files.exists(file) ? Files.readString(file).split(text, -1).length - 1 : 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
