package kueue.worker;

import java.io.File;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import kueue.model.AttemptRef;
import kueue.model.JobOutcome;
import kueue.model.JobSpec;
import kueue.model.OutputTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts attempts of jobs: the argv is executed directly in the job's working directory, in a
 * process group of its own, with stdin from /dev/null and each output stream captured, discarded or
 * written to a file.
 */
public final class ProcessRunner {
  public static final Duration DEFAULT_KILL_GRACE = Duration.ofSeconds(5);

  private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);
  private static final File DEV_NULL = new File("/dev/null");

  private final String workerName;
  private final long capturedOutputMaxBytes;
  private final Duration killGrace;
  private final Clock clock;
  private final String setsid;
  private final java.util.Optional<NativeSpawner> nativeSpawner;
  private final ProgramLocations programs = new ProgramLocations();

  /** This worker's own umask, which a job gets without the wrapping shell; null when unknown. */
  private final Integer workerUmask = FileModes.processUmask();

  /**
   * @param workerName the value of KUEUE_WORKER in every job's environment
   * @param capturedOutputMaxBytes how much of each captured stream is kept (the tail)
   * @param killGrace how long a killed job has between TERM and KILL
   */
  public ProcessRunner(String workerName, long capturedOutputMaxBytes, Duration killGrace) {
    this(workerName, capturedOutputMaxBytes, killGrace, Clock.systemUTC());
  }

  ProcessRunner(String workerName, long capturedOutputMaxBytes, Duration killGrace, Clock clock) {
    this(workerName, capturedOutputMaxBytes, killGrace, clock, NativeSpawner.load());
  }

  /**
   * With {@code nativeSpawner} empty, jobs start through ProcessBuilder, as on machines without
   * what {@link NativeSpawner} needs (glibc before 2.34, other libcs, other systems).
   */
  ProcessRunner(
      String workerName,
      long capturedOutputMaxBytes,
      Duration killGrace,
      Clock clock,
      java.util.Optional<NativeSpawner> nativeSpawner) {
    this.workerName = workerName;
    this.capturedOutputMaxBytes = Math.max(0, capturedOutputMaxBytes);
    this.killGrace = killGrace;
    this.clock = clock;
    this.nativeSpawner = nativeSpawner;
    this.setsid = ProcessSignals.setsidProgram();
    if (setsid == null) {
      log.warn(
          "setsid not found: jobs share the worker's process group, killing a job kills only"
              + " the processes still in its tree");
    }
  }

  /**
   * Starts the attempt. Never throws for a job that cannot start: the returned job has then already
   * ended with {@link JobOutcome#failure()} saying why.
   */
  public RunningJob start(AttemptRef attempt, JobSpec spec) {
    return start(attempt, spec, List.of(), false);
  }

  /**
   * Like {@link #start}, for a caller that calls {@link RunningJob#watchFor} next, on the same
   * thread: until then nothing watches the process.
   */
  public RunningJob startToWatch(AttemptRef attempt, JobSpec spec) {
    return start(attempt, spec, List.of(), true);
  }

  /** Like {@link #start(AttemptRef, JobSpec)}, with variables as for {@link #startToWatch}. */
  RunningJob start(AttemptRef attempt, JobSpec spec, List<String> deviceVariables) {
    return start(attempt, spec, deviceVariables, false);
  }

  /**
   * Like {@link #startToWatch(AttemptRef, JobSpec)}, with variables ("NAME=value") that replace
   * those of the job's environment: which devices the job got.
   */
  RunningJob startToWatch(AttemptRef attempt, JobSpec spec, List<String> deviceVariables) {
    return start(attempt, spec, deviceVariables, true);
  }

  private RunningJob start(
      AttemptRef attempt, JobSpec spec, List<String> deviceVariables, boolean watchedByCaller) {
    try {
      return launch(attempt, spec, deviceVariables, watchedByCaller);
    } catch (CannotStart e) {
      log.info(
          "job {} attempt {} cannot start: {}", attempt.jobId(), attempt.attempt(), e.getMessage());
      return RunningJob.notStarted(
          attempt, new JobOutcome(null, null, e.getMessage(), null, clock.instant()));
    }
  }

  private RunningJob launch(
      AttemptRef attempt, JobSpec spec, List<String> deviceVariables, boolean watchedByCaller)
      throws CannotStart {
    if (spec.argv().isEmpty()) {
      throw new CannotStart("command not found: (empty command)");
    }
    Path cwd = workingDirectory(spec.cwd());
    Map<String, String> source = spec.env() != null ? spec.env() : System.getenv();
    SharedEnvironment shared =
        deviceVariables.isEmpty()
            ? shared(source)
            : shared(source, DeviceEnvironment.names(deviceVariables));
    List<String> ownVariables = new ArrayList<>(4 + deviceVariables.size());
    ownVariables.addAll(deviceVariables);
    ownVariables.add("KUEUE_JOB_ID=" + attempt.jobId());
    ownVariables.add("KUEUE_WORKER=" + workerName);
    // A job outside a batch must not see the values of the batch job that submitted it: the
    // shared part never holds these.
    if (spec.batch() != null && spec.arrayIndex() != null) {
      ownVariables.add("KUEUE_ARRAY_ID=" + spec.batch());
      ownVariables.add("KUEUE_ARRAY_INDEX=" + spec.arrayIndex());
    }
    String program = spec.argv().getFirst();
    if (nativeSpawner.isPresent()) {
      // One search of the PATH finds the program; only when it fails is it searched for why.
      Path executable = programs.resolve(program, cwd, shared.path());
      if (executable == null) {
        String problem = ExecutableLookup.problem(program, cwd, shared.path());
        throw new CannotStart(problem != null ? problem : "command not found: " + program);
      }
      return launchNative(
          attempt,
          spec,
          cwd,
          shared.nativeLines(),
          ownVariables,
          executable,
          program,
          watchedByCaller);
    }
    String problem = ExecutableLookup.problem(program, cwd, shared.path());
    if (problem != null) {
      throw new CannotStart(problem);
    }
    Map<String, String> environment = new HashMap<>(shared.variables());
    for (String variable : ownVariables) {
      int equals = variable.indexOf('=');
      environment.put(variable.substring(0, equals), variable.substring(equals + 1));
    }
    List<String> command = new ArrayList<>();
    if (setsid != null) {
      command.add(setsid);
    }
    command.addAll(withUmask(spec.umask(), spec.argv()));
    ProcessBuilder builder = new ProcessBuilder(command).directory(cwd.toFile());
    try {
      builder.environment().clear();
      builder.environment().putAll(environment);
    } catch (IllegalArgumentException e) {
      throw new CannotStart("invalid environment: " + e.getMessage());
    }
    builder.redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
    Path stdoutFile = redirect(builder, "stdout", spec.stdout(), cwd, null, spec.umask());
    redirect(builder, "stderr", spec.stderr(), cwd, stdoutFile, spec.umask());

    TailBuffer stdout = OutputTarget.isCaptured(spec.stdout()) ? newBuffer() : null;
    TailBuffer stderr =
        OutputTarget.isCaptured(spec.stderr()) && !builder.redirectErrorStream()
            ? newBuffer()
            : null;
    LiveOutput output =
        new LiveOutput(
            stdout,
            stderr,
            stdoutFile,
            builder.redirectErrorStream() ? null : fileOf(spec.stderr(), cwd),
            capturedOutputMaxBytes);
    Instant started = clock.instant();
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new CannotStart("cannot start " + program + ": " + e.getMessage());
    }
    log.info(
        "job {} attempt {} started as pid {}: {}",
        attempt.jobId(),
        attempt.attempt(),
        process.pid(),
        spec.commandLine());
    return RunningJob.watch(
        attempt, process, setsid != null, started, output, killGrace, clock, false);
  }

  /**
   * A job's environment without the variables the worker sets for each job, and as the "NAME=value"
   * C strings posix_spawn takes. Jobs of one submitter share one environment (the worker keeps each
   * once per connection), so it is prepared once for all of them.
   */
  record SharedEnvironment(
      Map<String, String> source,
      Set<String> replaced,
      Map<String, String> variables,
      NativeSpawner.Environment nativeLines) {
    String path() {
      return variables.get("PATH");
    }
  }

  private static final List<String> OWN_VARIABLES =
      List.of("KUEUE_JOB_ID", "KUEUE_WORKER", "KUEUE_ARRAY_ID", "KUEUE_ARRAY_INDEX");

  /** The environment prepared last; launcher threads share it. */
  private volatile SharedEnvironment lastShared;

  SharedEnvironment shared(Map<String, String> source) {
    return shared(source, Set.of());
  }

  /** Also without the replaced variables, which the worker sets for the job. */
  SharedEnvironment shared(Map<String, String> source, Set<String> replaced) {
    SharedEnvironment last = lastShared;
    if (last != null && last.source() == source && last.replaced().equals(replaced)) {
      return last;
    }
    Map<String, String> variables = new HashMap<>(source);
    OWN_VARIABLES.forEach(variables::remove);
    replaced.forEach(variables::remove);
    List<String> lines = new ArrayList<>(variables.size());
    variables.forEach((name, value) -> lines.add(name + "=" + value));
    SharedEnvironment prepared =
        new SharedEnvironment(
            source,
            replaced,
            Map.copyOf(variables),
            nativeSpawner.isPresent() ? NativeSpawner.Environment.of(lines) : null);
    lastShared = prepared;
    return prepared;
  }

  private RunningJob launchNative(
      AttemptRef attempt,
      JobSpec spec,
      Path cwd,
      NativeSpawner.Environment shared,
      List<String> own,
      Path executable,
      String program,
      boolean watchedByCaller)
      throws CannotStart {
    NativeSpawner.Output stdoutTarget =
        nativeOutput("stdout", spec.stdout(), cwd, null, spec.umask());
    Path stdoutFile = stdoutTarget instanceof NativeSpawner.Output.File file ? file.path() : null;
    NativeSpawner.Output stderrTarget =
        nativeOutput("stderr", spec.stderr(), cwd, stdoutFile, spec.umask());
    TailBuffer stdout = stdoutTarget instanceof NativeSpawner.Output.Pipe ? newBuffer() : null;
    TailBuffer stderr = stderrTarget instanceof NativeSpawner.Output.Pipe ? newBuffer() : null;
    LiveOutput output =
        new LiveOutput(
            stdout,
            stderr,
            stdoutFile,
            stderrTarget instanceof NativeSpawner.Output.File file ? file.path() : null,
            capturedOutputMaxBytes);
    List<String> argv = withUmask(spec.umask(), spec.argv());
    if (argv != spec.argv()) {
      // The shell finds the program again by the same PATH from the same directory.
      executable = Path.of(SHELL);
    }
    Instant started = clock.instant();
    Process process;
    try {
      process =
          nativeSpawner
              .get()
              .spawn(
                  executable.toAbsolutePath(), argv, shared, own, cwd, stdoutTarget, stderrTarget);
    } catch (IOException e) {
      throw new CannotStart("cannot start " + program + ": " + e.getMessage());
    }
    log.debug(
        "job {} attempt {} started as pid {}: {}",
        attempt.jobId(),
        attempt.attempt(),
        process.pid(),
        spec.commandLine());
    return RunningJob.watch(
        attempt, process, true, started, output, killGrace, clock, watchedByCaller);
  }

  private static final String SHELL = "/bin/sh";

  /**
   * The command that runs argv with the given umask: argv itself when the job asks for none or for
   * the worker's own (the common case, which costs nothing), else argv through a shell that sets it
   * first and then replaces itself with the program. Neither posix_spawn nor ProcessBuilder can set
   * a child's umask, and changing the worker's own around each start would give files the worker
   * creates meanwhile on other threads (its logs, other jobs' output files) the job's mask.
   */
  private List<String> withUmask(Integer umask, List<String> argv) {
    if (umask == null || umask.equals(workerUmask)) {
      return argv;
    }
    List<String> command = new ArrayList<>(argv.size() + 4);
    command.add(SHELL);
    command.add("-c");
    command.add("umask " + String.format("%03o", umask) + " && exec \"$@\"");
    command.add("kueue-job");
    command.addAll(argv);
    return command;
  }

  /** Like {@link #redirect}, for the native spawner; files are checked here for a clear error. */
  private NativeSpawner.Output nativeOutput(
      String stream, String target, Path cwd, Path stdoutFile, Integer umask) throws CannotStart {
    if (OutputTarget.isCaptured(target)) {
      return new NativeSpawner.Output.Pipe();
    }
    if (OutputTarget.isDiscarded(target)) {
      return new NativeSpawner.Output.Discard();
    }
    Path file;
    try {
      file = cwd.resolve(target).normalize();
    } catch (InvalidPathException e) {
      throw new CannotStart("cannot open " + stream + " file " + target + ": invalid path");
    }
    if (file.equals(stdoutFile)) {
      return new NativeSpawner.Output.SameAsStdout();
    }
    createOutputFile(stream, file, umask);
    return new NativeSpawner.Output.File(file);
  }

  /** The file an output target names, or null when it is captured or discarded. */
  private static Path fileOf(String target, Path cwd) {
    if (OutputTarget.isCaptured(target) || OutputTarget.isDiscarded(target)) {
      return null;
    }
    try {
      return cwd.resolve(target).normalize();
    } catch (InvalidPathException e) {
      return null;
    }
  }

  private TailBuffer newBuffer() {
    return new TailBuffer(capturedOutputMaxBytes);
  }

  private static Path workingDirectory(String cwd) throws CannotStart {
    try {
      Path path = Path.of(cwd);
      if (path.isAbsolute() && Files.isDirectory(path)) {
        return path;
      }
    } catch (InvalidPathException | NullPointerException e) {
      // reported below like any other missing directory
    }
    throw new CannotStart("working directory " + cwd + " does not exist");
  }

  /**
   * Points one output stream at its target. Returns the file it writes to, so that stderr naming
   * the same file as stdout shares its descriptor instead of overwriting it.
   */
  private Path redirect(
      ProcessBuilder builder,
      String stream,
      String target,
      Path cwd,
      Path stdoutFile,
      Integer umask)
      throws CannotStart {
    boolean isStdout = stream.equals("stdout");
    if (OutputTarget.isCaptured(target)) {
      return null;
    }
    if (OutputTarget.isDiscarded(target)) {
      if (isStdout) {
        builder.redirectOutput(ProcessBuilder.Redirect.DISCARD);
      } else {
        builder.redirectError(ProcessBuilder.Redirect.DISCARD);
      }
      return null;
    }
    Path file;
    try {
      file = cwd.resolve(target).normalize();
    } catch (InvalidPathException e) {
      throw new CannotStart("cannot open " + stream + " file " + target + ": invalid path");
    }
    if (!isStdout && file.equals(stdoutFile)) {
      builder.redirectErrorStream(true);
      return file;
    }
    // ProcessBuilder opens the file again following links; the check here is what this fallback
    // can do, the native spawner's open refuses a link itself.
    createOutputFile(stream, file, umask);
    if (isStdout) {
      builder.redirectOutput(ProcessBuilder.Redirect.to(file.toFile()));
    } else {
      builder.redirectError(ProcessBuilder.Redirect.to(file.toFile()));
    }
    return file;
  }

  /**
   * Creates an {@code -o}/{@code -e} file with the job's umask, or empties the regular file that is
   * there. A symbolic link is refused rather than followed: in a directory others may write to, it
   * could point at any file of the worker's user, which the job would then overwrite.
   */
  private void createOutputFile(String stream, Path file, Integer umask) throws CannotStart {
    Integer mask = umask != null ? umask : workerUmask;
    try {
      try {
        // O_CREAT|O_EXCL, which never follows a link.
        Files.newByteChannel(
                file,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                FileModes.asAttribute(FileModes.created(mask)))
            .close();
        if (mask != null && !mask.equals(workerUmask)) {
          // The worker's umask applied to the mode above too: set the job's exactly.
          Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
              .setPermissions(FileModes.permissions(FileModes.created(mask)));
        }
        return;
      } catch (FileAlreadyExistsException exists) {
        // an existing file is emptied below, if it may be
      }
      BasicFileAttributes attributes =
          Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (attributes.isSymbolicLink()) {
        throw new CannotStart(
            "refusing to write " + stream + " to " + file + ": it is a symbolic link");
      }
      if (!attributes.isRegularFile()) {
        throw new CannotStart(
            "refusing to write " + stream + " to " + file + ": it is not a regular file");
      }
      Files.newByteChannel(
              file,
              Set.of(
                  StandardOpenOption.WRITE,
                  StandardOpenOption.TRUNCATE_EXISTING,
                  LinkOption.NOFOLLOW_LINKS))
          .close();
    } catch (IOException e) {
      throw new CannotStart("cannot open " + stream + " file " + file + ": " + reason(e));
    }
  }

  private static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file or directory";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException fileSystem && fileSystem.getReason() != null) {
      return fileSystem.getReason().toLowerCase(java.util.Locale.ROOT);
    }
    return e.getMessage();
  }

  /** Why an attempt could not start; becomes the outcome's failure text. */
  private static final class CannotStart extends Exception {
    CannotStart(String message) {
      super(message);
    }
  }
}
