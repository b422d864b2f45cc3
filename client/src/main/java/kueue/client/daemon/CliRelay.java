package kueue.client.daemon;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code kueue}'s entry point. A JVM that loads picocli, Jackson and TLS for every command spends
 * most of a second before it sends its first byte; so the command is handed, with the environment,
 * directory and terminal it was started with, to the user's CLI daemon on this machine, which has
 * all of that loaded and warm, and this process only relays the daemon's output and exit code. It
 * reaches the daemon through a pair of named pipes ({@link PipeChannel}), two file opens, and loads
 * little else.
 *
 * <p>When no daemon answers, this process starts one in the background and, once it listens, hands
 * it this command as well. Without a daemon (no private directory for its socket, or it did not
 * start), and always with {@code KUEUE_CLI_DAEMON=off}, the command runs in-process.
 */
public final class CliRelay {
  /** What the relay exits with when the daemon goes away in the middle of a command. */
  private static final int DAEMON_LOST = 1;

  /** 128 + SIGPIPE, what a shell reports for a program whose reader went away. */
  private static final int OUTPUT_CLOSED = 141;

  static final String SWITCH = "KUEUE_CLI_DAEMON";

  private CliRelay() {}

  /**
   * The class path of the whole CLI, when this JVM's holds only the relay (install.sh's launcher
   * puts only kueue-relay.jar there: the JVM then never opens the big jar for a relayed command).
   */
  static final String CLI_CLASS_PATH = "kueue.cli.classpath";

  /** An ahead-of-time cache for the daemon's JVM, if the launcher has one. */
  static final String DAEMON_AOT_CACHE = "kueue.cli.daemon.aotcache";

  /**
   * How the daemon's JVM runs: the commands are short and light, so C1 alone and the serial
   * collector serve them at a fraction of the memory and CPU of a server JVM. (Here, not in
   * CliDaemon, which is not in kueue-relay.jar.)
   */
  static final List<String> DAEMON_JVM_OPTIONS =
      List.of(
          "-XX:+UseSerialGC",
          "-XX:TieredStopAtLevel=1",
          "-Xmx256m",
          "-XX:-UsePerfData",
          "--enable-native-access=ALL-UNNAMED");

  /** How long the first command waits for the daemon it started to listen. */
  private static final long DAEMON_START_LIMIT_NANOS = 30_000_000_000L;

  /**
   * Commands that serve until Ctrl-C (the dashboard): in the daemon they would hold one of its
   * threads and outlive the terminal, and Ctrl-C must stop them, so they always run here.
   */
  private static final java.util.Set<String> FOREGROUND_COMMANDS = java.util.Set.of("dashboard");

  /** Whether the command (the first argument that is not -c/--config or its value) is one. */
  static boolean runsInForeground(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-c") || arg.equals("--config")) {
        i++;
      } else if (!arg.startsWith("-")) {
        return FOREGROUND_COMMANDS.contains(arg);
      }
    }
    return false;
  }

  /**
   * How long a relay waits for the daemon to open a claimed pair of pipes before it gives up on
   * them.
   */
  private static final long PIPE_OPEN_LIMIT_MILLIS = 2000;

  public static void main(String[] args) throws Exception {
    Map<String, String> environment = System.getenv();
    trace("relay main");
    if ("off".equals(environment.get(SWITCH)) || runsInForeground(args)) {
      runInProcess(args);
      return;
    }
    LocalEndpoint endpoint = LocalEndpoint.forThisInstallation(environment);
    trace("endpoint found");
    if (endpoint.isPrivate()) {
      trace("directory checked");
      File pipes = endpoint.pipes().toFile();
      String pair = PipeChannel.claim(pipes, System.nanoTime());
      if (pair != null) {
        trace("pipe pair claimed");
        relayThroughPipes(pipes, pair, args, environment, endpoint);
        return;
      }
    }
    relayThroughSocket(args, environment, endpoint);
  }

  /**
   * The usual way: through a pair of pipes the daemon had ready. A daemon killed after it made the
   * pair never opens it; after {@link #PIPE_OPEN_LIMIT_MILLIS} another thread takes the command
   * over and relays it through the socket (which starts a new daemon when needed). The request is
   * sent only by whichever thread wins {@link #pipeOutcome}, so the command runs once.
   */
  private static void relayThroughPipes(
      File pipes,
      String pair,
      String[] args,
      Map<String, String> environment,
      LocalEndpoint endpoint)
      throws Exception {
    Thread fallback = new PipeOpenLimit(args, environment, endpoint);
    fallback.setDaemon(true);
    fallback.start();
    PipeChannel channel;
    try {
      channel = PipeChannel.open(pipes, pair);
    } catch (IOException goneMeanwhile) {
      channel = null; // the daemon stopped and deleted the pair
    }
    if (!settlePipeOutcome(channel == null ? PIPES_FAILED : PIPES_OPEN)) {
      Thread.sleep(Long.MAX_VALUE); // the other thread runs the command and ends the process
    }
    if (channel == null) {
      relayThroughSocket(args, environment, endpoint);
      return;
    }
    trace("pipes opened");
    finish(relay(channel.fromDaemon, channel.toDaemon, args, environment));
  }

  private static final int PIPES_OPENING = 0;
  private static final int PIPES_OPEN = 1;
  private static final int PIPES_FAILED = 2;
  private static int pipeOutcome = PIPES_OPENING;

  /** Sets the outcome if it is still open; whether this call set it. */
  private static synchronized boolean settlePipeOutcome(int outcome) {
    if (pipeOutcome != PIPES_OPENING) {
      return false;
    }
    pipeOutcome = outcome;
    return true;
  }

  /** Takes the command over when the daemon does not open a claimed pair in time. */
  private static final class PipeOpenLimit extends Thread {
    private final String[] args;
    private final Map<String, String> environment;
    private final LocalEndpoint endpoint;

    PipeOpenLimit(String[] args, Map<String, String> environment, LocalEndpoint endpoint) {
      super("pipe-open-limit");
      this.args = args;
      this.environment = environment;
      this.endpoint = endpoint;
    }

    @Override
    public void run() {
      try {
        Thread.sleep(PIPE_OPEN_LIMIT_MILLIS);
        if (settlePipeOutcome(PIPES_FAILED)) {
          relayThroughSocket(args, environment, endpoint);
          Runtime.getRuntime().halt(0); // ran in-process, whose exit code ended the process already
        }
      } catch (Exception e) {
        System.err.println("kueue: " + e);
        Runtime.getRuntime().halt(1);
      }
    }
  }

  /**
   * Through the daemon's socket, starting the daemon when none answers (the first command); without
   * a daemon, in-process. Returns only after running the command in-process.
   */
  private static void relayThroughSocket(
      String[] args, Map<String, String> environment, LocalEndpoint endpoint) throws Exception {
    SocketChannel channel = connect(endpoint);
    trace("daemon connected");
    if (channel == null) {
      // The first command: start the daemon and hand it this command too, which is faster than
      // loading the whole CLI here as well. Without a daemon, the command runs in-process.
      Process daemon = startDaemon(endpoint, environment);
      channel = daemon == null ? null : awaitDaemon(endpoint, daemon);
      trace("daemon started");
      if (channel == null) {
        printTrace();
        runInProcess(args);
        return;
      }
    }
    // The channel closes with the process.
    finish(
        relay(
            Channels.newInputStream(channel),
            Channels.newOutputStream(channel),
            args,
            environment));
  }

  private static void finish(int exitCode) {
    trace("relay finished");
    printTrace();
    // Its output went straight to the file descriptors, so there is nothing to flush, and no
    // shutdown hooks are registered: halting skips the logging setup that exit() goes through.
    Runtime.getRuntime().halt(exitCode);
  }

  static SocketChannel awaitDaemon(LocalEndpoint endpoint, Process daemon)
      throws InterruptedException {
    long deadline = System.nanoTime() + DAEMON_START_LIMIT_NANOS;
    while (daemon.isAlive() && System.nanoTime() < deadline) {
      if (Files.exists(endpoint.socket())) {
        SocketChannel channel = connect(endpoint);
        if (channel != null) {
          return channel;
        }
      }
      Thread.sleep(10);
    }
    // Another relay's daemon may have won the race for the lock file.
    return connect(endpoint);
  }

  /**
   * Runs the command in this JVM, loading the whole CLI when only the relay is on the class path.
   */
  private static void runInProcess(String[] args) throws Exception {
    Class<?> cli;
    try {
      cli = Class.forName("kueue.client.KueueCli");
    } catch (ClassNotFoundException onlyTheRelay) {
      List<java.net.URL> urls = new ArrayList<>();
      for (String entry : cliClassPath().split(java.io.File.pathSeparator)) {
        urls.add(Path.of(entry).toUri().toURL());
      }
      cli =
          new java.net.URLClassLoader(
                  urls.toArray(java.net.URL[]::new), CliRelay.class.getClassLoader())
              .loadClass("kueue.client.KueueCli");
    }
    cli.getMethod("main", String[].class).invoke(null, (Object) args);
  }

  static String cliClassPath() {
    return System.getProperty(CLI_CLASS_PATH, System.getProperty("java.class.path"));
  }

  private static SocketChannel connect(LocalEndpoint endpoint) {
    if (!endpoint.isPrivate()) {
      return null;
    }
    SocketChannel channel = null;
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(endpoint.socket()));
      return channel;
    } catch (IOException | RuntimeException noDaemon) {
      // Not started yet, or gone: the socket file of a daemon that was killed refuses connections.
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException ignored) {
          // Nothing was sent on it.
        }
      }
      return null;
    }
  }

  static int relay(
      InputStream in, OutputStream out, String[] args, Map<String, String> environment) {
    DataOutputStream toDaemon = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
    DataInputStream fromDaemon = new DataInputStream(new BufferedInputStream(in, 1 << 16));
    String terminalDevice = stdoutTerminalDevice();
    var request =
        new LocalProtocol.Request(
            System.getProperty("user.dir"),
            List.of(args),
            environment,
            terminalDevice != null,
            terminalDevice == null ? "" : terminalDevice,
            ProcessUmask.current());
    OutputStream stdout = new FileOutputStream(FileDescriptor.out);
    OutputStream stderr = new FileOutputStream(FileDescriptor.err);
    try {
      request.writeTo(toDaemon);
      trace("request sent");
      printTrace(); // while the daemon works
      while (true) {
        int type = LocalProtocol.readType(fromDaemon);
        switch (type) {
          case LocalProtocol.STDOUT -> {
            if (!copy(LocalProtocol.readPayload(fromDaemon), stdout)) {
              return OUTPUT_CLOSED;
            }
          }
          case LocalProtocol.STDERR -> copy(LocalProtocol.readPayload(fromDaemon), stderr);
          case LocalProtocol.INTERRUPT_HINT ->
              setInterruptHint(LocalProtocol.readPayload(fromDaemon));
          case LocalProtocol.STDIN_WANTED -> {
            LocalProtocol.readPayload(fromDaemon);
            forwardStdin(toDaemon);
          }
          case LocalProtocol.EXIT -> {
            byte[] code = LocalProtocol.readPayload(fromDaemon);
            if (code.length != 4) {
              throw new IOException("malformed exit frame");
            }
            return ((code[0] & 0xff) << 24)
                | ((code[1] & 0xff) << 16)
                | ((code[2] & 0xff) << 8)
                | (code[3] & 0xff);
          }
          case -1 ->
              throw new IOException("the daemon closed the connection before the command ended");
          default -> throw new IOException("unknown frame type " + type);
        }
      }
    } catch (IOException e) {
      System.err.println(
          "kueue: lost the local CLI daemon during the command ("
              + e.getMessage()
              + "); it may or may not have taken effect. Run it again with "
              + SWITCH
              + "=off to run it without the daemon.");
      return DAEMON_LOST;
    }
  }

  /**
   * What Ctrl-C prints and exits with (the payload of the daemon's last {@link
   * LocalProtocol#INTERRUPT_HINT}); null for the JVM's usual end. Ctrl-C ends this relay, not the
   * daemon, which interrupts the command when the relay goes away.
   */
  private static volatile byte[] interruptHint;

  private static boolean interruptHooked;

  private static void setInterruptHint(byte[] payload) {
    interruptHint = payload.length < 4 ? null : payload;
    if (interruptHint != null && !interruptHooked) {
      interruptHooked = true;
      // finish() halts without running hooks: only Ctrl-C or kill gets here.
      Runtime.getRuntime().addShutdownHook(new Thread(CliRelay::interrupted, "interrupt-hint"));
    }
  }

  private static void interrupted() {
    byte[] hint = interruptHint;
    if (hint == null) {
      return;
    }
    int exitCode =
        ((hint[0] & 0xff) << 24)
            | ((hint[1] & 0xff) << 16)
            | ((hint[2] & 0xff) << 8)
            | (hint[3] & 0xff);
    System.err.println();
    System.err.println(
        new String(hint, 4, hint.length - 4, java.nio.charset.StandardCharsets.UTF_8));
    System.err.flush();
    Runtime.getRuntime().halt(exitCode);
  }

  private static boolean copy(byte[] bytes, OutputStream target) {
    try {
      target.write(bytes);
      return true;
    } catch (IOException closed) {
      return false;
    }
  }

  /** Sends all of stdin from a thread of its own, so that output keeps flowing meanwhile. */
  private static void forwardStdin(DataOutputStream toDaemon) {
    Thread copier =
        new Thread(
            () -> {
              byte[] buffer = new byte[1 << 16];
              InputStream stdin = System.in;
              try {
                int read;
                while ((read = stdin.read(buffer)) >= 0) {
                  synchronized (toDaemon) {
                    LocalProtocol.writeFrame(toDaemon, LocalProtocol.STDIN, buffer, 0, read);
                  }
                }
                synchronized (toDaemon) {
                  LocalProtocol.writeFrame(toDaemon, LocalProtocol.STDIN_END, buffer, 0, 0);
                }
              } catch (IOException gone) {
                // The daemon ended the command; its exit frame says how.
              }
            },
            "stdin");
    copier.setDaemon(true);
    copier.start();
  }

  /**
   * The terminal device stdout is on (such as /dev/pts/3), or null when it is a file or pipe. The
   * daemon asks that device for its size; the link in /proc is cheaper than a console object.
   */
  private static String stdoutTerminalDevice() {
    try {
      String target = Files.readSymbolicLink(Path.of("/proc/self/fd/1")).toString();
      return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") ? target : null;
    } catch (IOException | RuntimeException noProc) {
      return null;
    }
  }

  /**
   * Starts the daemon detached from this terminal's session (so Ctrl-C on this command does not
   * reach it). Without a safe socket directory there is no daemon and every command runs
   * in-process.
   */
  private static Process startDaemon(LocalEndpoint endpoint, Map<String, String> environment) {
    try {
      if (!endpoint.prepareDirectory()) {
        System.err.println(
            "kueue: warning: not starting the CLI daemon: "
                + endpoint.directory()
                + " must be a directory of yours that only you can enter (mode 700)");
        return null;
      }
      return daemonProcess(endpoint, environment).start();
    } catch (IOException | RuntimeException e) {
      System.err.println("kueue: warning: could not start the CLI daemon: " + e.getMessage());
      return null;
    }
  }

  /** How a daemon for this installation is started, with the environment it is given. */
  static ProcessBuilder daemonProcess(LocalEndpoint endpoint, Map<String, String> environment) {
    List<String> command = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      command.add("/usr/bin/setsid");
    }
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(DAEMON_JVM_OPTIONS);
    // The cache install.sh trained for the whole CLI in-process: same class path, and most of
    // what a daemon loads, so the first command (which waits for the daemon) starts sooner.
    String cache = System.getProperty(DAEMON_AOT_CACHE);
    if (cache != null && Files.isRegularFile(Path.of(cache))) {
      command.add("-XX:AOTCache=" + cache);
    }
    List<String> classPath = new ArrayList<>();
    for (String entry : cliClassPath().split(java.io.File.pathSeparator)) {
      classPath.add(Path.of(entry).toAbsolutePath().toString());
    }
    command.addAll(
        List.of(
            "-cp",
            String.join(java.io.File.pathSeparator, classPath),
            "kueue.client.daemon.CliDaemon"));
    // In "/", so that it keeps no directory of the user's busy (an unmount would fail).
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(Path.of("/").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .redirectOutput(ProcessBuilder.Redirect.appendTo(endpoint.logFile().toFile()))
            .redirectErrorStream(true);
    builder.environment().clear();
    builder.environment().putAll(environment);
    builder.environment().remove("KUEUE_TRACE_STARTUP");
    return builder;
  }

  private static final boolean TRACE = System.getenv("KUEUE_TRACE_STARTUP") != null;
  private static final long[] traceTimes = new long[16];
  private static final String[] traceSteps = new String[16];
  private static int traceCount;

  /**
   * Notes the time of a step, printed on stderr later ({@link #printTrace}) so that printing does
   * not slow the steps measured.
   */
  private static void trace(String step) {
    if (TRACE && traceCount < traceTimes.length) {
      traceTimes[traceCount] = System.nanoTime();
      traceSteps[traceCount++] = step;
    }
  }

  private static int tracePrinted = 1;

  /** Prints the steps noted since the last call. */
  private static void printTrace() {
    if (TRACE) {
      for (; tracePrinted < traceCount; tracePrinted++) {
        int i = tracePrinted;
        System.err.println(
            "kueue: trace: "
                + traceSteps[i]
                + " "
                + (traceTimes[i] - traceTimes[i - 1]) / 1000 / 1000.0
                + " ms");
      }
    }
  }
}
