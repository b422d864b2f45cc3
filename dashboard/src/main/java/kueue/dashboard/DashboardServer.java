package kueue.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kueue.client.CliException;
import kueue.client.ServerAccess;
import kueue.config.ConfigException;
import kueue.model.JobFilter;
import kueue.model.JobQuery;
import kueue.model.JobUpdate;
import kueue.model.OutputCursor;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;

/**
 * The dashboard's web server (the JDK's own, so the dashboard adds no server library): the page,
 * its script and style, the plot library from its WebJar, a JSON API over the Kueue server, and one
 * server-sent event stream per open page. Every request passes the {@link AccessGuard} first.
 */
public final class DashboardServer implements AutoCloseable {
  private static final String STATIC = "kueue/dashboard/static/";
  private static final String UPLOT = "META-INF/resources/webjars/uplot/";
  private static final Pattern JOB_PAGE = Pattern.compile("/jobs/(\\d+)");
  private static final Pattern JOB_API = Pattern.compile("/api/jobs/(\\d+)");
  private static final Pattern OUTPUT_API = Pattern.compile("/api/jobs/(\\d+)/output");
  private static final Pattern ACTION =
      Pattern.compile(
          "/api/(jobs|batches)/(\\d+)/(cancel|kill|hold|release|requeue|requeue-failed)");

  /** How often an idle event stream sends a comment, so that proxies and ssh -L keep it open. */
  private static final long KEEPALIVE_SECONDS = 15;

  private final HttpServer http;
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
  private final AccessGuard guard;
  private final ServerLink pollLink;
  private final ServerLink requestLink;
  private final FleetMonitor monitor;
  private final OutputReader outputReader;
  private final ObjectMapper mapper = MessageCodec.newMapper();
  private final String uplotVersion;
  private volatile boolean closed;

  private DashboardServer(HttpServer http, AccessGuard guard, ServerAccess access, Clock clock) {
    this.http = http;
    this.guard = guard;
    this.pollLink = new ServerLink(access);
    this.requestLink = new ServerLink(access);
    this.monitor = new FleetMonitor(pollLink, clock, mapper);
    this.outputReader = new OutputReader(access);
    this.uplotVersion = webJarVersion("org.webjars.npm", "uplot");
  }

  /**
   * Listens on the address and port (0: a free one) and starts asking the Kueue server.
   *
   * @param token the access token, which the address printed to the user carries
   */
  public static DashboardServer start(
      ServerAccess access, InetAddress bind, int port, String token, Clock clock)
      throws IOException {
    HttpServer http = HttpServer.create(new InetSocketAddress(bind, port), 50);
    int actualPort = http.getAddress().getPort();
    AccessGuard guard =
        new AccessGuard(
            token, AccessGuard.randomToken(new java.security.SecureRandom()), bind, actualPort);
    DashboardServer server = new DashboardServer(http, guard, access, clock);
    http.createContext("/", server::handle);
    http.setExecutor(server.threads);
    http.start();
    server.monitor.start();
    return server;
  }

  public int port() {
    return http.getAddress().getPort();
  }

  /** The address to open: with the token, which the first request turns into a cookie. */
  public String address(String host) {
    return "http://" + host + ":" + port() + "/?token=" + guard.token();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      var headers = exchange.getRequestHeaders();
      String method = exchange.getRequestMethod();
      String path = exchange.getRequestURI().getRawPath();
      Map<String, String> query =
          AccessGuard.queryParameters(exchange.getRequestURI().getRawQuery());
      boolean action = method.equals("POST");
      if (!action && !method.equals("GET") && !method.equals("HEAD")) {
        send(exchange, 405, "text/plain", "method not allowed\n");
        return;
      }
      AccessGuard.Verdict verdict =
          guard.check(
              headers.getFirst("Host"),
              query.get("token"),
              headers.getFirst("Cookie"),
              action,
              headers.getFirst(AccessGuard.CSRF_HEADER),
              headers.getFirst("Origin"));
      switch (verdict) {
        case WRONG_HOST -> {
          send(exchange, 403, "text/plain", "this dashboard answers only to its own address\n");
          return;
        }
        case NO_TOKEN -> {
          send(
              exchange,
              403,
              "text/plain",
              "open the address that `kueue dashboard` printed: it carries the access token\n");
          return;
        }
        case FORGED -> {
          send(exchange, 403, "text/plain", "refused: not sent by the dashboard's own page\n");
          return;
        }
        case ALLOW_AND_SET_COOKIE -> {
          // The token leaves the address bar (and the history) as soon as it is a cookie.
          exchange.getResponseHeaders().add("Set-Cookie", guard.cookie());
          if (!action && !path.startsWith("/api/")) {
            exchange.getResponseHeaders().add("Location", path);
            send(exchange, 303, "text/plain", "");
            return;
          }
        }
        case ALLOW -> {}
      }
      route(exchange, method, path, query);
    } catch (RuntimeException e) {
      send(exchange, 500, "text/plain", "dashboard error: " + e + "\n");
    }
  }

  private void route(HttpExchange exchange, String method, String path, Map<String, String> query)
      throws IOException {
    if (method.equals("POST")) {
      Matcher action = ACTION.matcher(path);
      if (action.matches()) {
        act(exchange, action.group(1), Long.parseLong(action.group(2)), action.group(3));
      } else {
        send(exchange, 404, "text/plain", "not found\n");
      }
      return;
    }
    if (path.equals("/") || path.equals("/jobs") || JOB_PAGE.matcher(path).matches()) {
      page(exchange);
    } else if (path.equals("/static/app.js")) {
      resource(exchange, STATIC + "app.js", "text/javascript");
    } else if (path.equals("/static/app.css")) {
      resource(exchange, STATIC + "app.css", "text/css");
    } else if (path.equals("/static/uPlot.js")) {
      resource(exchange, UPLOT + uplotVersion + "/dist/uPlot.iife.min.js", "text/javascript");
    } else if (path.equals("/static/uPlot.css")) {
      resource(exchange, UPLOT + uplotVersion + "/dist/uPlot.min.css", "text/css");
    } else if (path.equals("/api/fleet")) {
      String latest = monitor.latest();
      if (latest == null) {
        send(exchange, 503, "application/json", "{\"error\":\"no answer from the server yet\"}");
      } else {
        send(exchange, 200, "application/json", latest);
      }
    } else if (path.equals("/api/events")) {
      events(exchange);
    } else if (path.equals("/api/jobs")) {
      jobs(exchange, query);
    } else if (OUTPUT_API.matcher(path).matches()) {
      Matcher job = OUTPUT_API.matcher(path);
      job.matches();
      output(exchange, Long.parseLong(job.group(1)), query);
    } else if (JOB_API.matcher(path).matches()) {
      Matcher job = JOB_API.matcher(path);
      job.matches();
      ask(exchange, new Message.ShowJob(Long.parseLong(job.group(1))), Message.JobDetails.class);
    } else {
      send(exchange, 404, "text/plain", "not found\n");
    }
  }

  private void page(HttpExchange exchange) throws IOException {
    String html = text(STATIC + "app.html").replace("{{csrf}}", guard.csrfToken());
    exchange.getResponseHeaders().add("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    send(exchange, 200, "text/html; charset=utf-8", html);
  }

  /**
   * Scripts and styles only from here (no inline script: the CSRF token is read from a meta tag);
   * uPlot sets element styles, which 'unsafe-inline' for styles allows.
   */
  private static final String CONTENT_SECURITY_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
          + " connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none';"
          + " form-action 'self'";

  private void jobs(HttpExchange exchange, Map<String, String> query) throws IOException {
    List<JobFilter> filters = new ArrayList<>();
    try {
      String states = query.getOrDefault("state", "");
      for (String state : states.split(",")) {
        if (!state.isBlank()) {
          filters.add(JobFilter.valueOf(state.trim().toUpperCase(java.util.Locale.ROOT)));
        }
      }
      JobQuery jobQuery =
          new JobQuery(
              filters,
              longOrNull(query.get("batch")),
              query.get("worker"),
              query.get("text"),
              !"oldest".equals(query.get("order")),
              longOrNull(query.get("after")),
              Integer.parseInt(query.getOrDefault("limit", "50")),
              "state".equals(query.get("sort")),
              query.get("afterState") == null
                  ? null
                  : JobFilter.valueOf(
                      query.get("afterState").trim().toUpperCase(java.util.Locale.ROOT)));
      ask(exchange, new Message.FindJobs(jobQuery), Message.JobList.class);
    } catch (IllegalArgumentException e) {
      sendJson(exchange, 400, Map.of("error", "bad query: " + e.getMessage()));
    }
  }

  /**
   * What is new in a job's output after the page's place in it (read_output with one cursor): at
   * once, or with follow=1 once there is something new or after the server's longest wait. The page
   * keeps its place, as {@code kueue log -f} does.
   */
  private void output(HttpExchange exchange, long id, Map<String, String> query)
      throws IOException {
    try {
      Long attempt = longOrNull(query.get("attempt"));
      OutputCursor cursor =
          new OutputCursor(
              id,
              attempt == null ? null : Math.toIntExact(attempt),
              Math.max(0, Long.parseLong(query.getOrDefault("stdout", "0"))),
              Math.max(0, Long.parseLong(query.getOrDefault("stderr", "0"))));
      Message.OutputRead read = outputReader.read(cursor, "1".equals(query.get("follow")));
      sendJson(exchange, 200, read);
    } catch (IllegalArgumentException | ArithmeticException e) {
      sendJson(exchange, 400, Map.of("error", "bad query: " + e.getMessage()));
    } catch (OutputReader.Busy e) {
      sendJson(exchange, 503, Map.of("error", e.getMessage()));
    } catch (CliException e) {
      int status =
          e.exitCode() == kueue.protocol.RequestConnection.Kind.REFUSED.exitCode() ? 404 : 502;
      sendJson(exchange, status, Map.of("error", String.valueOf(e.getMessage())));
    } catch (ConfigException e) {
      sendJson(exchange, 500, Map.of("error", String.valueOf(e.getMessage())));
    }
  }

  private static Long longOrNull(String value) {
    return value == null || value.isBlank() ? null : Long.valueOf(value.trim());
  }

  /** The actions of the command line, as its commands send them; every one came through POST. */
  private void act(HttpExchange exchange, String what, long id, String how) throws IOException {
    boolean batch = what.equals("batches");
    List<Long> ids = batch ? null : List.of(id);
    Long batchId = batch ? id : null;
    switch (how) {
      case "cancel", "kill" -> {
        boolean kill = how.equals("kill");
        if (batch) {
          ask(exchange, new Message.RemoveBatch(id, kill), Message.BatchRemoved.class);
        } else {
          ask(exchange, new Message.RemoveJob(id, kill), Message.JobRemoved.class);
        }
      }
      case "hold", "release" ->
          ask(
              exchange,
              new Message.UpdateJobs(ids, batchId, JobUpdate.holding(how.equals("hold"))),
              Message.JobsUpdated.class);
      case "requeue" ->
          ask(exchange, new Message.Requeue(ids, batchId, false), Message.JobsUpdated.class);
      case "requeue-failed" -> {
        if (batch) {
          ask(exchange, new Message.Requeue(null, id, true), Message.JobsUpdated.class);
        } else {
          send(exchange, 404, "text/plain", "not found\n");
        }
      }
      default -> send(exchange, 404, "text/plain", "not found\n");
    }
  }

  private <T extends Message.Reply> void ask(
      HttpExchange exchange, Message.Request request, Class<T> expected) throws IOException {
    try {
      T reply = requestLink.request(request, expected);
      sendJson(exchange, 200, reply);
    } catch (CliException e) {
      int status =
          e.exitCode() == kueue.protocol.RequestConnection.Kind.REFUSED.exitCode() ? 409 : 502;
      sendJson(exchange, status, Map.of("error", String.valueOf(e.getMessage())));
    } catch (ConfigException e) {
      sendJson(exchange, 500, Map.of("error", String.valueOf(e.getMessage())));
    }
  }

  /**
   * One stream per open page: the current view at once, then every changed one. The pages fetch
   * anything else (a job, a page of the table) when a change arrives, not on a timer.
   */
  private void events(HttpExchange exchange) throws IOException {
    exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
    exchange.getResponseHeaders().add("Cache-Control", "no-store");
    exchange.sendResponseHeaders(200, 0);
    LinkedBlockingQueue<String> changes = new LinkedBlockingQueue<>(16);
    Consumer<String> subscriber =
        json -> {
          if (!changes.offer(json)) {
            changes.clear(); // a slow page needs only the newest view
            changes.offer(json);
          }
        };
    monitor.subscribe(subscriber);
    try (OutputStream body = exchange.getResponseBody()) {
      String current = monitor.latest();
      if (current != null) {
        writeEvent(body, current);
      }
      while (!closed) {
        String json;
        try {
          json = changes.poll(KEEPALIVE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (json == null) {
          body.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
          body.flush();
        } else {
          writeEvent(body, json);
        }
      }
    } catch (IOException pageClosed) {
      // The page went away; nothing to tell anyone.
    } finally {
      monitor.unsubscribe(subscriber);
    }
  }

  private static void writeEvent(OutputStream body, String json) throws IOException {
    body.write(("event: fleet\ndata: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
    body.flush();
  }

  /** Open event streams; for tests. */
  int eventStreams() {
    return monitor.subscribers();
  }

  private void resource(HttpExchange exchange, String name, String type) throws IOException {
    try (InputStream in = DashboardServer.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        send(exchange, 404, "text/plain", "not found\n");
        return;
      }
      byte[] bytes = in.readAllBytes();
      exchange.getResponseHeaders().add("Content-Type", type);
      exchange.getResponseHeaders().add("Cache-Control", "private, max-age=300");
      exchange.getResponseHeaders().add("X-Content-Type-Options", "nosniff");
      if (exchange.getRequestMethod().equals("HEAD")) {
        exchange.sendResponseHeaders(200, -1);
        return;
      }
      exchange.sendResponseHeaders(200, bytes.length);
      exchange.getResponseBody().write(bytes);
    }
  }

  private static String text(String name) throws IOException {
    try (InputStream in = DashboardServer.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("missing resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The version of a WebJar on the class path, from the pom.properties it carries. */
  private static String webJarVersion(String group, String artifact) {
    String name = "META-INF/maven/" + group + "/" + artifact + "/pom.properties";
    try (InputStream in = DashboardServer.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("the WebJar " + artifact + " is not on the class path");
      }
      Properties properties = new Properties();
      properties.load(in);
      return properties.getProperty("version");
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + name, e);
    }
  }

  private void sendJson(HttpExchange exchange, int status, Object value) throws IOException {
    send(exchange, status, "application/json", mapper.writeValueAsString(value));
  }

  private static void send(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", type);
    exchange.getResponseHeaders().add("Cache-Control", "no-store");
    exchange.getResponseHeaders().add("X-Content-Type-Options", "nosniff");
    exchange.getResponseHeaders().add("Referrer-Policy", "no-referrer");
    exchange.getResponseHeaders().add("X-Frame-Options", "DENY");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, bytes.length == 0 || head ? -1 : bytes.length);
    if (!head && bytes.length > 0) {
      exchange.getResponseBody().write(bytes);
    }
  }

  @Override
  public void close() {
    closed = true;
    monitor.close();
    outputReader.close();
    http.stop(0);
    threads.shutdownNow();
    pollLink.close();
    requestLink.close();
  }
}
