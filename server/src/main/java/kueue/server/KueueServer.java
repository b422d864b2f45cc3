package kueue.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import kueue.config.KueueConfig;
import kueue.config.KueueVersion;
import kueue.core.Scheduler;
import kueue.core.SchedulerSettings;
import kueue.model.JobStats;
import kueue.protocol.PeerConnection;
import kueue.protocol.ServerIdentity;
import kueue.protocol.ServerKeyPin;
import kueue.protocol.TransportSecurity;
import kueue.store.JobStore;
import kueue.store.SqliteJobStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running server: the store, the scheduler loop and one listener per bound address. Used by
 * {@link ServerMain} and, in-process, by tests.
 */
public final class KueueServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KueueServer.class);

  private final JobStore store;
  private final SchedulerLoop loop;
  private final List<ServerSocket> listeners = new ArrayList<>();
  private final ScheduledExecutorService timers;
  private final ServerContext context;
  private final java.util.Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
  private final Clock clock;

  /** The TLS key; null when the configuration turned encryption off. */
  private final ServerIdentity identity;

  private ServerMetrics metrics;
  private volatile boolean closed;

  private KueueServer(
      KueueConfig config, Clock clock, Runnable onFatalError, ConnectionGuard.Limits limits)
      throws IOException {
    SqliteJobStore opened = SqliteJobStore.open(config.server().dataDirectory());
    this.store = opened;
    try {
      KueueConfig.Server settings = config.server();
      Scheduler scheduler =
          new Scheduler(
              new SchedulerSettings(
                  settings.globalMaxParallelJobs(),
                  config.globalResources(),
                  settings.workerTimeout(),
                  settings.jobOfferTimeout(),
                  settings.jobCleanupAfter(),
                  settings.jobMaxAttempts(),
                  settings.jobDeclinedTimeout()),
              store.nextJobId());
      this.loop = new SchedulerLoop(scheduler, store, clock, onFatalError);
      this.clock = clock;
      this.timers =
          Executors.newSingleThreadScheduledExecutor(
              r -> Thread.ofPlatform().daemon().name("timers").unstarted(r));
      KueueConfig.Common common = config.common();
      this.identity =
          common.encrypted() ? ServerIdentity.loadOrCreate(settings.dataDirectory()) : null;
      TransportSecurity transport =
          identity != null ? TransportSecurity.server(identity) : TransportSecurity.none();
      if (!transport.encrypted()) {
        log.warn(
            "encryption = \"none\" in {}: commands, environments and output cross the network"
                + " unencrypted",
            config.file());
      }
      this.context =
          new ServerContext(
              common.sharedSecret(),
              "kueue_server " + KueueVersion.VERSION,
              transport,
              new AuthenticationThrottle(),
              loop,
              store,
              new ConcurrentHashMap<>(),
              new ConnectionGuard(limits),
              config.worker().capturedOutputMaxBytes(),
              new OutputRelay());
      // The scheduler thread is not started yet: nothing reaches the scheduler before the restore.
      Thread warmUp = Thread.ofPlatform().daemon().name("warm-up").start(this::warmUp);
      long restoreStart = System.nanoTime();
      Instant now = clock.instant();
      JobStats counts = store.stats(now);
      long expected = counts.pending() + counts.offered() + counts.running();
      Scheduler.Restoration restoration =
          scheduler.restoring(now, (int) Math.min(expected, Integer.MAX_VALUE - 8));
      long[] restored = {0};
      store.activeJobs(
          job -> {
            restoration.accept(job);
            restored[0]++;
          });
      restoration.finish();
      log.info(
          "database {} opened: {} unfinished jobs restored in {} ms, next job id {}",
          settings.dataDirectory().resolve("kueue.db"),
          restored[0],
          (System.nanoTime() - restoreStart) / 1_000_000,
          store.nextJobId());
      if (opened.checksBeforeWriting()) {
        // The restore above only read; the check ran meanwhile on the other core.
        log.info(
            "the database was left open when its machine stopped: checking all of it before"
                + " writing");
        long checkStart = System.nanoTime();
        awaitIntegrity(opened);
        log.info(
            "database checked in {} ms more: ok", (System.nanoTime() - checkStart) / 1_000_000);
      }
      try {
        warmUp.join(WARM_UP_LIMIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } catch (IOException | RuntimeException e) {
      store.close();
      throw e;
    }
  }

  private static final java.time.Duration WARM_UP_LIMIT = java.time.Duration.ofSeconds(10);

  /**
   * One connection to itself over the loopback interface, while the restore keeps the other core
   * busy: the first TLS handshake and authentication of a fresh JVM take about a second of cold
   * code (key exchange, certificate checks, the JSON codec), which the first real client or worker
   * after a restart would otherwise wait for. Failing here costs nothing but that second.
   */
  private void warmUp() {
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setSoTimeout((int) WARM_UP_LIMIT.toMillis());
      Thread accepted =
          Thread.ofPlatform()
              .daemon()
              .name("warm-up connection")
              .start(
                  () -> {
                    try (Socket socket = listener.accept()) {
                      new Connection(socket, null, context, timers).run();
                    } catch (IOException e) {
                      log.debug("warm-up connection not accepted: {}", e.toString());
                    }
                  });
      try (PeerConnection _ =
          PeerConnection.open(
              InetAddress.getLoopbackAddress().getHostAddress(),
              listener.getLocalPort(),
              context.secret(),
              "client",
              "kueue_server warm-up",
              WARM_UP_LIMIT,
              identity != null
                  ? TransportSecurity.clientTrusting(identity.encodedPublicKey())
                  : TransportSecurity.none())) {
        log.debug("warm-up connection authenticated");
      }
      accepted.join(WARM_UP_LIMIT.toMillis());
    } catch (Exception e) {
      log.debug("warm-up connection failed: {}", e.toString());
    }
  }

  private static void awaitIntegrity(SqliteJobStore store) {
    try {
      store.integrityCheck().join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof RuntimeException cause ? cause : e;
    }
  }

  /**
   * Watches the whole-file check that runs while the server already serves (unless it had to pass
   * before the first write, see {@link SqliteJobStore#open}): a damaged database stops the server
   * with the check's message, and the store refuses writes from the moment it is found.
   */
  private void watchIntegrity(SqliteJobStore sqlite, Runnable onFatalError) {
    long started = System.nanoTime();
    sqlite
        .integrityCheck()
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) {
                log.info(
                    "database checked in {} ms: ok", (System.nanoTime() - started) / 1_000_000);
              } else if (!closed) {
                Throwable cause =
                    failure instanceof java.util.concurrent.CompletionException c
                        ? c.getCause()
                        : failure;
                log.error("stopping: {}", cause.getMessage());
                onFatalError.run();
              }
            });
  }

  /**
   * Opens the database, restores unfinished jobs and starts listening on every configured address
   * that can be bound (the server runs as long as one binds).
   *
   * @throws IOException if no address could be bound
   */
  public static KueueServer start(KueueConfig config, Clock clock, Runnable onFatalError)
      throws IOException {
    return start(config, clock, onFatalError, ConnectionGuard.Limits.standard());
  }

  static KueueServer start(
      KueueConfig config, Clock clock, Runnable onFatalError, ConnectionGuard.Limits limits)
      throws IOException {
    KueueServer server = new KueueServer(config, clock, onFatalError, limits);
    try {
      InetSocketAddress metricsAddress = config.server().metricsAddress();
      if (metricsAddress != null) {
        server.metrics = new ServerMetrics(server.store, server.loop, clock);
        server.loop.reportTo(server.metrics);
        server.metrics.serve(metricsAddress);
        log.info(
            "metrics at http://{}:{}/metrics",
            metricsAddress.getHostString(),
            server.metrics.port());
      }
      server.loop.start();
      ConnectionGuard guard = server.context.guard();
      server.timers.scheduleWithFixedDelay(guard::check, 1, 1, TimeUnit.SECONDS);
      server.bind(config.server().addressBindings(), config.common().serverPort());
      // Only once the port is ours: a second server started by mistake with another data
      // directory must not take the pin away from the one that is running.
      server.publishKey(config);
      if (server.store instanceof SqliteJobStore sqlite && !sqlite.checksBeforeWriting()) {
        server.watchIntegrity(sqlite, onFatalError);
      }
      return server;
    } catch (IOException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  /**
   * Writes the server's public key to the pin file, so that clients and workers sharing the
   * configuration's directory trust it. A pin that names another key is replaced: only the user can
   * write there, and the key changes only when the data directory was replaced.
   */
  private void publishKey(KueueConfig config) {
    if (identity == null) {
      return;
    }
    java.nio.file.Path pin = config.common().serverKeyFile();
    try {
      boolean written =
          ServerKeyPin.publish(
              pin,
              identity,
              "Written by kueue_server on "
                  + hostName()
                  + " for its data directory "
                  + config.server().dataDirectory()
                  + ".");
      log.info(
          "server key {} {} {}",
          identity.fingerprint(),
          written ? "written to" : "already pinned in",
          pin);
    } catch (IOException | RuntimeException e) {
      log.warn(
          "cannot write the server key pin {} ({}): clients and workers will not trust this"
              + " server until it holds this server's key {}",
          pin,
          e.toString(),
          identity.fingerprint());
    }
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "this machine";
    }
  }

  /** How long a start keeps trying when every address is still in use. */
  private static final java.time.Duration BIND_RETRY = java.time.Duration.ofSeconds(5);

  private void bind(List<String> addresses, int port) throws IOException {
    // A server restarted right after the old one stopped may find the port still held for a
    // moment (by the old process on its way out, or a connection being torn down): try again
    // for a few seconds before giving up, but only while nothing could be bound.
    long deadline = System.nanoTime() + BIND_RETRY.toNanos();
    while (true) {
      List<String> failures = bindOnce(addresses, port);
      if (!listeners.isEmpty()) {
        return;
      }
      boolean inUse = failures.stream().anyMatch(f -> f.contains("in use"));
      if (!inUse || System.nanoTime() > deadline) {
        String holder = inUse ? PortHolder.describe(port) : null;
        throw new IOException(
            "could not listen on any of "
                + addresses
                + " port "
                + port
                + ": "
                + failures
                + (holder == null ? "" : "; " + holder));
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for port " + port);
      }
    }
  }

  /**
   * The addresses in the order to bind them: IPv6 wildcards first. On a dual-stack host "[::]"
   * accepts IPv4 too, so binding it first gives both families, and "0.0.0.0" after it fails
   * harmlessly; the other way round, "0.0.0.0" takes the port and "[::]" cannot have it, which left
   * the default "0.0.0.0 [::]" serving IPv4 only.
   */
  static List<String> bindingOrder(List<String> addresses) {
    List<String> ordered = new ArrayList<>();
    addresses.stream().filter(KueueServer::isIpv6Wildcard).forEach(ordered::add);
    addresses.stream().filter(a -> !isIpv6Wildcard(a)).forEach(ordered::add);
    return ordered;
  }

  private static boolean isIpv6Wildcard(String address) {
    String host =
        address.startsWith("[") && address.endsWith("]")
            ? address.substring(1, address.length() - 1)
            : address;
    return host.equals("::") || host.equals("0:0:0:0:0:0:0:0");
  }

  private List<String> bindOnce(List<String> addresses, int port) throws IOException {
    List<String> failures = new ArrayList<>();
    for (String text : bindingOrder(addresses)) {
      String host =
          text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
      ServerSocket listener = new ServerSocket();
      try {
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(InetAddress.getByName(host), port), 1024);
      } catch (IOException e) {
        listener.close();
        // On a dual-stack host "[::]" already accepts IPv4 too, so "0.0.0.0" on the same port
        // then fails; that is expected and not an error.
        log.info("not listening on {} port {}: {}", text, port, e.getMessage());
        failures.add(text + ": " + e.getMessage());
        continue;
      }
      listeners.add(listener);
      log.info("listening on {}", listener.getLocalSocketAddress());
      Thread.ofPlatform().daemon().name("accept " + text).start(() -> accept(listener));
    }
    return failures;
  }

  private void accept(ServerSocket listener) {
    AcceptFailures failures = new AcceptFailures();
    while (!closed) {
      try {
        Socket socket = listener.accept();
        String recovered = failures.succeeded();
        if (recovered != null) {
          log.warn(recovered);
        }
        ConnectionGuard.Admission admission = context.guard().admit(socket);
        if (admission == null) {
          socket.close();
          continue;
        }
        openSockets.add(socket);
        Connection connection = new Connection(socket, admission, context, timers);
        Thread.ofVirtual()
            .name("connection")
            .start(
                () -> {
                  try {
                    connection.run();
                  } finally {
                    openSockets.remove(socket);
                    context.guard().release(admission);
                  }
                });
      } catch (SocketException e) {
        if (!closed) {
          log.error("listener {} failed: {}", listener.getLocalSocketAddress(), e.getMessage());
        }
        return;
      } catch (IOException e) {
        // e.g. too many open files: keep serving the connections we have, and try again later.
        AcceptFailures.Decision decision = failures.failed(e.getMessage(), clock.instant());
        if (decision.logLine() != null) {
          log.warn(decision.logLine());
        }
        pause(decision.pause());
      }
    }
  }

  private void pause(Duration pause) {
    try {
      Thread.sleep(pause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Connections open now, handshakes included. */
  int openConnections() {
    return context.guard().openConnections();
  }

  /** The port of the metrics, or -1 when they are off; for tests that ask for port 0. */
  int metricsPort() {
    return metrics == null ? -1 : metrics.port();
  }

  /** The bound addresses with their real ports (useful with port 0). */
  public List<InetSocketAddress> addresses() {
    return listeners.stream().map(l -> (InetSocketAddress) l.getLocalSocketAddress()).toList();
  }

  @Override
  public void close() {
    closed = true;
    for (ServerSocket listener : listeners) {
      try {
        listener.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    for (Socket socket : openSockets) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    if (metrics != null) {
      metrics.close();
    }
    if (loop != null) {
      loop.stop();
    }
    if (timers != null) {
      timers.shutdownNow();
    }
    store.close();
  }
}
