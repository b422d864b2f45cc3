package kueue.client.daemon;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import kueue.client.KueueCli;
import kueue.client.ServerConnections;

/**
 * The user's CLI daemon on one machine: runs the commands that {@link CliRelay} hands it, in this
 * long-lived JVM where the command-line parser, JSON and TLS are loaded and compiled once. Each
 * command runs on a thread of its own exactly as it would in-process, with the relay's arguments,
 * environment, directory and terminal; its configuration is read afresh every time, so edits to the
 * config file take effect at the next command. Connections to the server stay open between commands
 * ({@link ServerConnections}).
 *
 * <p>It exits when it has been idle for {@code KUEUE_CLI_DAEMON_IDLE_SECONDS} (default one hour),
 * when its jar is replaced (a new install starts a new daemon under another socket name), or on
 * SIGTERM. A relay that goes away (Ctrl-C) cancels its command.
 */
public final class CliDaemon {
  static final String IDLE_SETTING = "KUEUE_CLI_DAEMON_IDLE_SECONDS";
  private static final Duration DEFAULT_IDLE = Duration.ofHours(1);
  private static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

  /** How long a connection to a server stays open with no command using it. */
  private static final Duration CONNECTION_MAX_IDLE = Duration.ofMinutes(5);

  private final LocalEndpoint endpoint;
  private final Duration idleLimit;
  private final String buildId;
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicLong lastActivityNanos = new AtomicLong(System.nanoTime());
  private ServerSocketChannel server;
  private ServerConnections connections;
  private PipePool pipes;

  /**
   * Pairs of pipes kept ready for relays. More relays at once than this use the socket, which works
   * as well but costs each some 30 ms more; new pairs are made as soon as old ones are taken.
   */
  private static final int PIPE_PAIRS = 8;

  CliDaemon(LocalEndpoint endpoint, Duration idleLimit) {
    this.endpoint = endpoint;
    this.idleLimit = idleLimit;
    this.buildId = LocalEndpoint.buildId(System.getProperty("java.class.path"));
  }

  public static void main(String[] args) throws IOException {
    Map<String, String> environment = System.getenv();
    var daemon =
        new CliDaemon(LocalEndpoint.forThisInstallation(environment), idleLimit(environment));
    System.exit(daemon.run());
  }

  private static Duration idleLimit(Map<String, String> environment) {
    String value = environment.get(IDLE_SETTING);
    if (value != null) {
      try {
        long seconds = Long.parseLong(value.strip());
        if (seconds > 0) {
          return Duration.ofSeconds(seconds);
        }
      } catch (NumberFormatException ignored) {
        // Falls back to the default, as documented.
      }
      log("ignoring " + IDLE_SETTING + "=" + value + " (not a positive number of seconds)");
    }
    return DEFAULT_IDLE;
  }

  /** Serves until idle; returns the process's exit code. */
  int run() throws IOException {
    if (!endpoint.prepareDirectory()) {
      log(endpoint.directory() + " is not a private directory of this user; not listening there");
      return 1;
    }
    try (FileChannel lockChannel =
            FileChannel.open(
                endpoint.lockFile(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock()) {
      if (lock == null) {
        return 0; // Another daemon of this build got there first and serves.
      }
      Path socket = endpoint.socket();
      Files.deleteIfExists(socket); // left by a daemon that was killed
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(socket));
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
      Runtime.getRuntime().addShutdownHook(new Thread(this::stopListening));
      connections = ServerConnections.keepOpen(CONNECTION_MAX_IDLE);
      try {
        pipes = PipePool.start(endpoint.pipes().toFile(), PIPE_PAIRS, this::acceptPipes);
      } catch (IOException | RuntimeException e) {
        log("no pipes for relays (" + e.getMessage() + "); they use the socket");
      }
      log("listening on " + socket + " (pid " + ProcessHandle.current().pid() + ")");
      Thread.ofPlatform().daemon().name("idle-check").start(this::stopWhenIdle);
      Thread.ofVirtual().name("warm-up").start(CliDaemon::warmUp);
      acceptUntilClosed();
      // Commands already under way finish first (a reinstall must not cut a running `cmd --wait`;
      // new commands go to the new installation's daemon meanwhile). On SIGTERM the JVM does not
      // wait for this.
      while (running.get() > 0) {
        try {
          Thread.sleep(CHECK_INTERVAL.toMillis() / 10);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      return 0;
    }
  }

  private void acceptUntilClosed() {
    while (true) {
      SocketChannel channel;
      try {
        channel = server.accept();
      } catch (ClosedChannelException stopped) {
        return;
      } catch (IOException e) {
        log("accepting a connection failed: " + e);
        continue;
      }
      lastActivityNanos.set(System.nanoTime());
      // Counted before its thread starts, so that a stop right now still waits for it.
      running.incrementAndGet();
      Thread.ofVirtual().name("relay").start(() -> serve(channel));
    }
  }

  private void stopWhenIdle() {
    while (server.isOpen()) {
      try {
        Thread.sleep(CHECK_INTERVAL);
      } catch (InterruptedException e) {
        return;
      }
      connections.closeExpired(System.nanoTime());
      if (pipes != null) {
        pipes.sweep(System.nanoTime());
      }
      boolean idle =
          running.get() == 0 && System.nanoTime() - lastActivityNanos.get() > idleLimit.toNanos();
      boolean replaced =
          !buildId.equals(LocalEndpoint.buildId(System.getProperty("java.class.path")));
      if (idle || replaced) {
        log(
            idle
                ? "idle for " + idleLimit.toSeconds() + " s, exiting"
                : "Kueue was reinstalled, exiting");
        stop();
      }
    }
  }

  /** Stops taking commands; {@link #run()} then returns. */
  synchronized void stop() {
    stopListening();
  }

  private synchronized void stopListening() {
    if (pipes != null) {
      pipes.stop();
    }
    try {
      if (server != null && server.isOpen()) {
        server.close();
        Files.deleteIfExists(endpoint.socket());
      }
    } catch (IOException e) {
      log("could not remove " + endpoint.socket() + ": " + e);
    }
  }

  /** A relay that came through the socket, once it is known to run as this user. */
  private void serve(SocketChannel channel) {
    try (channel) {
      if (!LocalEndpoint.peerIsThisUser(channel)) {
        log("refused a connection from another user");
        return;
      }
      DataInputStream fromRelay =
          new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel), 1 << 16));
      DataOutputStream toRelay =
          new DataOutputStream(
              new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16));
      LocalProtocol.Request request = readRequest(fromRelay);
      if (request == null) {
        return;
      }
      RelayedStdin stdin = new RelayedStdin(toRelay);
      AtomicBoolean finished = new AtomicBoolean();
      Thread commandThread = Thread.currentThread();
      Thread.ofVirtual()
          .name("relay-input")
          .start(() -> readRelay(fromRelay, stdin, finished, commandThread));
      runAndSendExit(request, toRelay, stdin, finished);
      // Closing the channel ends relay-input's read.
    } catch (IOException relayGone) {
      // Its command was interrupted in readRelay; nobody is left to tell.
    } finally {
      lastActivityNanos.set(System.nanoTime());
      running.decrementAndGet();
    }
  }

  /**
   * A relay that came through a pair of pipes; only this user can open them (they are in the
   * private directory), so there is nobody else to refuse.
   *
   * <p>Reads and writes on pipes block the thread that makes them, and a virtual thread blocked so
   * holds one of the few carrier threads all commands share: a relay whose user stopped reading (a
   * pager, Ctrl-Z) would stall every other command. So platform threads do the pipes' I/O, and the
   * command, on a virtual thread as for the socket (where an interrupt from a relay that went away
   * closes its connection to the server), writes its frames into an in-process pipe whose blocking
   * writes park virtual threads instead.
   */
  private void acceptPipes(InputStream fromRelayPipe, OutputStream toRelayPipe) {
    lastActivityNanos.set(System.nanoTime());
    running.incrementAndGet();
    Thread.ofPlatform()
        .daemon()
        .name("relay-input")
        .start(() -> servePipes(fromRelayPipe, toRelayPipe));
  }

  private void servePipes(InputStream fromRelayPipe, OutputStream toRelayPipe) {
    boolean commandStarted = false;
    try (fromRelayPipe) {
      DataInputStream fromRelay =
          new DataInputStream(new BufferedInputStream(fromRelayPipe, 1 << 16));
      LocalProtocol.Request request = readRequest(fromRelay);
      if (request == null) {
        return;
      }
      Pipe frames = Pipe.open();
      Thread.ofPlatform()
          .daemon()
          .name("relay-output")
          .start(() -> copyFrames(frames.source(), toRelayPipe));
      DataOutputStream toRelay =
          new DataOutputStream(
              new BufferedOutputStream(Channels.newOutputStream(frames.sink()), 1 << 16));
      RelayedStdin stdin = new RelayedStdin(toRelay);
      AtomicBoolean finished = new AtomicBoolean();
      Thread command =
          Thread.ofVirtual()
              .name("relay")
              .unstarted(
                  () -> {
                    try (toRelay) {
                      runAndSendExit(request, toRelay, stdin, finished);
                    } catch (IOException relayGone) {
                      // Its command was interrupted by readRelay; nobody is left to tell.
                    } finally {
                      lastActivityNanos.set(System.nanoTime());
                      running.decrementAndGet();
                    }
                  });
      command.start();
      commandStarted = true;
      // Ends when the relay, having read the exit frame, exits, or when it goes away before.
      readRelay(fromRelay, stdin, finished, command);
    } catch (IOException e) {
      log("a relay's pipes failed: " + e.getMessage());
    } finally {
      if (!commandStarted) {
        PipePool.closeQuietly(toRelayPipe);
        lastActivityNanos.set(System.nanoTime());
        running.decrementAndGet();
      }
    }
  }

  /** Carries the command's frames to the relay's pipe, until the command closes its end. */
  private static void copyFrames(Pipe.SourceChannel frames, OutputStream toRelayPipe) {
    try (frames;
        toRelayPipe) {
      Channels.newInputStream(frames).transferTo(toRelayPipe);
    } catch (IOException relayGone) {
      // Closing the source makes the command's next write fail, as a closed socket would.
    }
  }

  /** The relay's request, or null (logged) when it sent something else. */
  private static LocalProtocol.Request readRequest(DataInputStream fromRelay) {
    try {
      return LocalProtocol.Request.readFrom(fromRelay);
    } catch (java.io.EOFException e) {
      // A relay that gave up on its pipes after opening them, or was killed before sending.
      log("a relay closed its connection before sending a whole command");
      return null;
    } catch (IOException e) {
      log("refused a malformed request: " + e.getMessage());
      return null;
    }
  }

  /** Runs the relay's command on this thread, then sends its exit frame. */
  private static void runAndSendExit(
      LocalProtocol.Request request,
      DataOutputStream toRelay,
      RelayedStdin stdin,
      AtomicBoolean finished)
      throws IOException {
    int exitCode = runCommand(request, toRelay, stdin);
    finished.set(true);
    Thread.interrupted(); // an interrupt that came too late to matter
    byte[] code = {
      (byte) (exitCode >>> 24), (byte) (exitCode >>> 16), (byte) (exitCode >>> 8), (byte) exitCode
    };
    try {
      synchronized (toRelay) {
        LocalProtocol.writeFrame(toRelay, LocalProtocol.EXIT, code, 0, 4);
      }
    } finally {
      prepareAgain(request);
    }
  }

  /**
   * Reads what the relay sends while its command runs: its stdin, when asked for, and the end of
   * the connection, which means the user interrupted the command, so it is interrupted too.
   */
  private static void readRelay(
      DataInputStream fromRelay, RelayedStdin stdin, AtomicBoolean finished, Thread command) {
    try {
      while (true) {
        int type = LocalProtocol.readType(fromRelay);
        if (type == LocalProtocol.STDIN) {
          stdin.add(LocalProtocol.readPayload(fromRelay));
        } else if (type == LocalProtocol.STDIN_END) {
          LocalProtocol.readPayload(fromRelay);
          stdin.end();
        } else {
          break; // -1: the relay went away; anything else: it speaks nonsense
        }
      }
    } catch (IOException gone) {
      // Same as the end of the stream, or the channel closed after the command's end.
    }
    stdin.end();
    if (!finished.get()) {
      command.interrupt();
    }
  }

  private static int runCommand(
      LocalProtocol.Request request, DataOutputStream toRelay, RelayedStdin stdin) {
    PrintWriter out = writer(toRelay, LocalProtocol.STDOUT, false);
    PrintWriter err = writer(toRelay, LocalProtocol.STDERR, true);
    String[] arguments = request.arguments().toArray(String[]::new);
    String commandName = KueueCli.commandName(arguments);
    try {
      return KueueCli.runFor(
          commandName == null ? null : preparedCommands.remove(commandName),
          arguments,
          out,
          err,
          request.environment(),
          Path.of(request.workingDirectory()),
          request.stdoutIsTerminal(),
          Path.of(request.stdoutIsTerminal() ? request.terminalDevice() : "/dev/null"),
          stdin,
          (hint, exitCode) -> sendInterruptHint(toRelay, hint, exitCode),
          request.umask());
    } catch (RuntimeException e) {
      err.println("kueue: unexpected error: " + e);
      return 1;
    } finally {
      out.flush();
      err.flush();
    }
  }

  /** Tells the relay, which Ctrl-C reaches, what to print and exit with on Ctrl-C. */
  private static void sendInterruptHint(DataOutputStream toRelay, String hint, int exitCode) {
    byte[] payload = new byte[0];
    if (hint != null) {
      byte[] text = hint.getBytes(StandardCharsets.UTF_8);
      payload = java.nio.ByteBuffer.allocate(4 + text.length).putInt(exitCode).put(text).array();
    }
    try {
      synchronized (toRelay) {
        LocalProtocol.writeFrame(toRelay, LocalProtocol.INTERRUPT_HINT, payload, 0, payload.length);
      }
    } catch (IOException gone) {
      // The relay went away: its command is interrupted, and nobody is left to tell.
    }
  }

  /**
   * Builds the next tree for the command a relay ran, after its exit frame went out: the relay has
   * its answer, and one started next is still starting its JVM.
   */
  private static void prepareAgain(LocalProtocol.Request request) {
    String commandName = KueueCli.commandName(request.arguments().toArray(String[]::new));
    if (commandName != null && KueueCli.serverCommandNames().contains(commandName)) {
      preparedCommands.put(commandName, KueueCli.prepare(commandName));
    }
  }

  /**
   * A command tree built ahead for each server command, taken by the next run of that command and
   * then built anew: building one is a few milliseconds of reflection that a user would wait for.
   */
  private static final Map<String, KueueCli.Prepared> preparedCommands = new ConcurrentHashMap<>();

  private static PrintWriter writer(DataOutputStream toRelay, byte stream, boolean autoFlush) {
    OutputStream frames =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
          }

          @Override
          public void write(byte[] bytes, int offset, int length) throws IOException {
            while (length > 0) {
              int chunk = Math.min(length, LocalProtocol.MAX_FRAME_BYTES);
              synchronized (toRelay) {
                LocalProtocol.writeFrame(toRelay, stream, bytes, offset, chunk);
              }
              offset += chunk;
              length -= chunk;
            }
          }
        };
    return new PrintWriter(new OutputStreamWriter(frames, StandardCharsets.UTF_8), autoFlush);
  }

  /** The relay's stdin, asked for when the command first reads it. */
  private static final class RelayedStdin extends InputStream {
    private static final byte[] END = new byte[0];
    private final DataOutputStream toRelay;
    private final LinkedBlockingQueue<byte[]> chunks = new LinkedBlockingQueue<>();
    private boolean asked;
    private boolean ended;
    private byte[] current = new byte[0];
    private int position;

    RelayedStdin(DataOutputStream toRelay) {
      this.toRelay = toRelay;
    }

    void add(byte[] chunk) {
      chunks.add(chunk);
    }

    void end() {
      chunks.add(END);
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public synchronized int read(byte[] buffer, int offset, int length) throws IOException {
      if (length == 0) {
        return 0;
      }
      while (position == current.length) {
        if (ended) {
          return -1;
        }
        if (!asked) {
          asked = true;
          synchronized (toRelay) {
            LocalProtocol.writeFrame(toRelay, LocalProtocol.STDIN_WANTED, END, 0, 0);
          }
        }
        try {
          current = chunks.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while reading stdin");
        }
        position = 0;
        ended = current == END;
      }
      int count = Math.min(length, current.length - position);
      System.arraycopy(current, position, buffer, offset, count);
      position += count;
      return count;
    }
  }

  /**
   * Runs the parsing and help paths once, with no server involved, so that the first command a user
   * types is not the one that loads and compiles them.
   */
  private static void warmUp() {
    for (List<String> arguments :
        List.of(List.of("--help"), List.of("cmd", "--help"), List.of("list-jobs", "--help"))) {
      StringWriter sink = new StringWriter();
      KueueCli.runFor(
          null,
          arguments.toArray(String[]::new),
          new PrintWriter(sink),
          new PrintWriter(sink),
          Map.of(),
          Path.of("/"),
          false,
          Path.of("/dev/null"),
          InputStream.nullInputStream(),
          null,
          null);
    }
    for (String name : KueueCli.serverCommandNames()) {
      preparedCommands.put(name, KueueCli.prepare(name));
    }
  }

  static void log(String message) {
    System.err.println(Instant.now() + " kueue cli daemon: " + message);
  }
}
