package kueue.dashboard;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import kueue.client.ExternalCommand;
import kueue.client.ServerAccess;
import kueue.config.ConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kueue dashboard}: serves the fleet as a web page until Ctrl-C. */
@Command(
    name = "dashboard",
    mixinStandardHelpOptions = true,
    versionProvider = DashboardCommand.Version.class,
    description = {
      "Serve a live web page of the fleet, the queue, batches and jobs on this machine, until"
          + " Ctrl-C. It asks the server with this config, like any kueue command, and prints its"
          + " address with an access token (from a laptop: ssh -L PORT:127.0.0.1:PORT host)."
    })
public final class DashboardCommand implements Callable<Integer> {
  /** The same version line as every kueue command. */
  static final class Version implements picocli.CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kueue " + kueue.config.KueueVersion.VERSION};
    }
  }

  /** Found by the client through ServiceLoader. */
  public static final class Provider implements ExternalCommand {
    @Override
    public String name() {
      return "dashboard";
    }

    @Override
    public Object command(ServerAccess access) {
      return new DashboardCommand(access);
    }
  }

  private final ServerAccess access;

  @Spec CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "N",
      description = "Port to listen on (default: a free one).")
  int port;

  @Option(
      names = "--bind",
      paramLabel = "ADDR",
      description = "Address to listen on (default: 127.0.0.1).")
  String bind = "127.0.0.1";

  @Option(names = "--no-open", description = "Do not open a browser.")
  boolean noOpen;

  @Option(
      names = "--allow-remote",
      description =
          "Allow --bind to an address other machines can reach (anyone who can reach it and"
              + " has the token sees your jobs and can cancel them; prefer ssh -L).")
  boolean allowRemote;

  DashboardCommand(ServerAccess access) {
    this.access = access;
  }

  @Override
  public Integer call() throws IOException, ConfigException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    InetAddress address;
    try {
      address = InetAddress.getByName(bind);
    } catch (UnknownHostException e) {
      err.println("kueue dashboard: cannot resolve --bind " + bind);
      return 2;
    }
    if (!address.isLoopbackAddress()) {
      if (!allowRemote) {
        err.println(
            "kueue dashboard: --bind "
                + bind
                + " is reachable from other machines; add --allow-remote if you mean it"
                + " (or keep 127.0.0.1 and use ssh -L)");
        return 2;
      }
      err.println(
          "kueue dashboard: warning: listening on "
              + bind
              + ": anyone who can reach it and has the token can see and cancel your jobs;"
              + " the connection is not encrypted");
    }
    if (port < 0 || port > 65535) {
      err.println("kueue dashboard: --port must be 0 to 65535");
      return 2;
    }
    access.config(); // a broken config is reported now, not on the page
    String token = AccessGuard.randomToken(new SecureRandom());
    DashboardServer server;
    try {
      server = DashboardServer.start(access, address, port, token, Clock.systemUTC());
    } catch (java.net.BindException e) {
      err.println("kueue dashboard: cannot listen on " + bind + ":" + port + ": " + e.getMessage());
      return 2;
    }
    String host =
        address.isAnyLocalAddress()
            ? "127.0.0.1"
            : (address.getHostAddress().contains(":")
                ? "[" + address.getHostAddress() + "]"
                : address.getHostAddress());
    String url = server.address(host);
    out.println("kueue dashboard: " + url);
    out.println("Press Ctrl-C to stop.");
    out.flush();
    if (!noOpen) {
      openBrowser(url, System.getenv(), err);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  stopped.countDown();
                },
                "dashboard-stop"));
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.close();
    }
    return 0;
  }

  /**
   * Opens the page with the desktop's opener when there is a desktop session; on a server over ssh
   * there is none, and the printed address is all the user needs.
   */
  static void openBrowser(String url, Map<String, String> env, PrintWriter err) {
    List<String> command = browserCommand(url, env, System.getProperty("os.name", ""));
    if (command == null) {
      return;
    }
    try {
      new ProcessBuilder(command)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      err.println("kueue dashboard: could not open a browser: " + e.getMessage());
    }
  }

  /** The command that opens the URL here, or null when there is no desktop to open it on. */
  static List<String> browserCommand(String url, Map<String, String> env, String osName) {
    if (osName.startsWith("Mac")) {
      return env.containsKey("SSH_CONNECTION") ? null : List.of("open", url);
    }
    boolean desktop = env.containsKey("DISPLAY") || env.containsKey("WAYLAND_DISPLAY");
    if (!desktop) {
      return null;
    }
    for (String directory : env.getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
      if (!directory.isEmpty() && Files.isExecutable(Path.of(directory, "xdg-open"))) {
        return List.of(Path.of(directory, "xdg-open").toString(), url);
      }
    }
    return null;
  }
}
