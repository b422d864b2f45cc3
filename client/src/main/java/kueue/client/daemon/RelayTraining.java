package kueue.client.daemon;

import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The relay's training run for the JDK's ahead-of-time cache (install.sh, through
 * kueue.dist.LauncherTraining): runs commands through a daemon of its own, in another process so
 * that the cache holds only what a relay loads. It is in kueue-relay.jar, so that it runs with the
 * relay's class path, which the cache must be made with.
 *
 * <p>Arguments: the -c/--config options to pass on, if any.
 */
public final class RelayTraining {
  private static final Duration START_LIMIT = Duration.ofSeconds(30);

  private RelayTraining() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    List<String> config = List.of(args);
    run(
        Stream.of(List.of("cmd", "true"), List.of("cmd", "--wait", "true"), List.of("list-jobs"))
            .map(command -> Stream.concat(config.stream(), command.stream()).toList())
            .toList(),
        System.getenv());
  }

  public static void run(List<List<String>> commands, Map<String, String> environment)
      throws IOException, InterruptedException {
    Path directory =
        Files.createTempDirectory(
            "kueue-training",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Map<String, String> daemonEnvironment = new HashMap<>(environment);
    daemonEnvironment.put("XDG_RUNTIME_DIR", directory.toString());
    LocalEndpoint endpoint = LocalEndpoint.forThisInstallation(daemonEnvironment);
    Process daemon = null;
    try {
      if (!endpoint.prepareDirectory()) {
        throw new IOException(endpoint.directory() + " is not private");
      }
      daemon = CliRelay.daemonProcess(endpoint, daemonEnvironment).start();
      long deadline = System.nanoTime() + START_LIMIT.toNanos();
      // The first command as the socket carries it (the first command on a machine, or more relays
      // at once than the daemon has pipes), the others as pipes do.
      boolean first = true;
      for (List<String> command : commands) {
        if (!endpoint.isPrivate()) {
          throw new IOException(endpoint.directory() + " is not private");
        }
        String[] arguments = command.toArray(String[]::new);
        if (first) {
          SocketChannel connected = CliRelay.awaitDaemon(endpoint, daemon);
          if (connected == null) {
            throw new IOException("the daemon did not start (see " + endpoint.logFile() + ")");
          }
          try (SocketChannel channel = connected) {
            CliRelay.relay(
                Channels.newInputStream(channel),
                Channels.newOutputStream(channel),
                arguments,
                environment);
          }
          first = false;
          continue;
        }
        java.io.File pipes = endpoint.pipes().toFile();
        String pair;
        while ((pair = PipeChannel.claim(pipes, System.nanoTime())) == null) {
          if (!daemon.isAlive() || System.nanoTime() > deadline) {
            throw new IOException("the daemon made no pipes (see " + endpoint.logFile() + ")");
          }
          Thread.sleep(10);
        }
        PipeChannel channel = PipeChannel.open(pipes, pair);
        try (var in = channel.fromDaemon;
            var out = channel.toDaemon) {
          CliRelay.relay(in, out, arguments, environment);
        }
      }
    } finally {
      if (daemon != null) {
        // With setsid in between, the daemon is the child of the process started here.
        daemon.descendants().forEach(ProcessHandle::destroy);
        daemon.destroy();
        daemon.waitFor(START_LIMIT.toSeconds(), TimeUnit.SECONDS);
      }
      try (Stream<Path> files = Files.walk(directory)) {
        files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }
}
