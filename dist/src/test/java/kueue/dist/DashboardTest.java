package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * {@code kueue dashboard} against a server and two workers on loopback: the HTTP rules (token,
 * Host, CSRF) with plain requests, then the pages in Debian's headless Chromium driven by Selenium.
 * Screenshots of each view go to target/screenshots.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardTest {
  private static final Pattern ADDRESS =
      Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)/\\?token=([A-Za-z0-9_-]+)");
  private static final Path SCREENSHOTS = Path.of("target", "screenshots");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path home;
  private Fleet fleet;
  private int port;
  private int metricsPort;
  private String token;
  private WebDriver browser;
  private Process beta;

  @BeforeAll
  void start() throws Exception {
    fleet = new Fleet(home);
    metricsPort = freePort();
    fleet.startServer(Map.of("server", "metrics_address = \"127.0.0.1:" + metricsPort + "\""));
    fleet.startWorker("alpha", "worker_max_parallel_jobs = 3");
    beta = fleet.startWorker("beta", "worker_max_parallel_jobs = 3");
    fleet.startKueue("dashboard", "dashboard", "--no-open");
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> ADDRESS.matcher(fleet.log("dashboard")).find());
    Matcher address = ADDRESS.matcher(fleet.log("dashboard"));
    assertThat(address.find()).isTrue();
    port = Integer.parseInt(address.group(1));
    token = address.group(2);
    Files.createDirectories(SCREENSHOTS);
  }

  @AfterAll
  void stop() {
    if (browser != null) {
      browser.quit();
    }
    fleet.close();
  }

  /** One HTTP/1.1 request on a fresh connection; the response's status line and headers, body. */
  private record Response(int status, String head, String body) {}

  private Response http(String method, String path, Map<String, String> headers)
      throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      StringBuilder request = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
      Map<String, String> all = new java.util.LinkedHashMap<>();
      all.put("Host", "127.0.0.1:" + port);
      all.putAll(headers);
      all.put("Connection", "close");
      all.put("Content-Length", "0");
      all.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
      request.append("\r\n");
      OutputStream out = socket.getOutputStream();
      out.write(request.toString().getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int split = response.indexOf("\r\n\r\n");
      String head = response.substring(0, split);
      return new Response(
          Integer.parseInt(head.split(" ")[1]), head, response.substring(split + 4));
    }
  }

  private static int freePort() throws IOException {
    try (java.net.ServerSocket socket =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private String cookie() {
    return "kueue_dashboard_" + port + "=" + token;
  }

  @Test
  @Order(1)
  void withoutTheTokenFromAnotherHostOrWithoutTheCsrfTokenNothingIsServed() throws Exception {
    Response noToken = http("GET", "/", Map.of());
    Response wrongToken = http("GET", "/api/fleet", Map.of("Cookie", "kueue_dashboard_1=x"));
    Response rebound = http("GET", "/?token=" + token, Map.of("Host", "attacker.example:" + port));
    Response withToken = http("GET", "/?token=" + token, Map.of());
    Response page = http("GET", "/", Map.of("Cookie", cookie()));
    Response forged = http("POST", "/api/jobs/1/cancel", Map.of("Cookie", cookie()));
    String csrf = page.body().replaceAll("(?s).*name=\"kueue-csrf\" content=\"([^\"]+)\".*", "$1");
    Response otherOrigin =
        http(
            "POST",
            "/api/jobs/1/cancel",
            Map.of("Cookie", cookie(), "X-Kueue-Csrf", csrf, "Origin", "http://attacker.example"));
    Response sameOrigin =
        http(
            "POST",
            "/api/jobs/999999/cancel",
            Map.of("Cookie", cookie(), "X-Kueue-Csrf", csrf, "Origin", "http://127.0.0.1:" + port));

    assertThat(noToken.status()).isEqualTo(403);
    assertThat(noToken.body()).contains("access token");
    assertThat(wrongToken.status()).isEqualTo(403);
    assertThat(rebound.status()).isEqualTo(403);
    assertThat(withToken.status()).isEqualTo(303);
    assertThat(withToken.head())
        .containsIgnoringCase("Set-Cookie: " + cookie())
        .contains("HttpOnly");
    assertThat(page.status()).isEqualTo(200);
    assertThat(page.body()).doesNotContain(Fleet.SECRET).doesNotContain(token);
    assertThat(forged.status()).isEqualTo(403);
    assertThat(otherOrigin.status()).isEqualTo(403);
    assertThat(sameOrigin.status()).as(sameOrigin.body()).isEqualTo(409);
    assertThat(sameOrigin.body()).contains("not found");
  }

  private WebDriver browser() {
    if (browser == null) {
      ChromeOptions options = new ChromeOptions();
      options.setBinary("/usr/bin/chromium");
      options.addArguments(
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--window-size=1400,1000");
      ChromeDriverService service =
          new ChromeDriverService.Builder()
              .usingDriverExecutable(Path.of("/usr/bin/chromedriver").toFile())
              .usingAnyFreePort()
              .build();
      browser = new ChromeDriver(service, options);
      browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    }
    return browser;
  }

  private void screenshot(String name) throws IOException {
    Files.write(
        SCREENSHOTS.resolve(name + ".png"),
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  private List<WebElement> all(String css) {
    return browser.findElements(By.cssSelector(css));
  }

  private Object script(String code) {
    return ((JavascriptExecutor) browser).executeScript(code);
  }

  @Test
  @Order(2)
  void theFleetShowsBothWorkersAndABatchMovesWithoutAReload() throws Exception {
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/?token=" + token);
    inBrowser().until(() -> all("[data-worker]").size() == 2 && all("#plots .uplot").size() == 2);
    assertThat(URI.create(page.getCurrentUrl()).getQuery()).as("token left the address").isNull();
    assertThat(
            script(
                "return [...document.querySelectorAll('[data-worker]')]"
                    + ".map(w => w.dataset.worker).join(',')"))
        .isEqualTo("alpha,beta");
    script("window.loadedOnce = true");
    // Free CPUs as the scheduler counts them, as list-workers says; the tooltip says the same.
    inBrowser().until(() -> cpuFreeAgreesWithListWorkers("alpha"));

    Fleet.Result submitted =
        fleet.kueue(
            "cmd",
            "--array",
            "1-30",
            "-c",
            "1",
            "sh",
            "-c",
            "sleep 0.4; echo output of $KUEUE_ARRAY_INDEX");
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    inBrowser().until(() -> all("[data-batch]").size() == 1);
    inBrowser().until(() -> batchDone() > 0);
    int before = batchDone();
    inBrowser().until(() -> !all("[data-worker] .jobs-list li").isEmpty());
    screenshot("fleet");
    inBrowser().until(() -> batchDone() > before);
    assertThat(script("return window.loadedOnce")).as("the page was not reloaded").isEqualTo(true);
    inBrowser().until(() -> batchDone() == 30);
  }

  private boolean cpuFreeAgreesWithListWorkers(String worker) throws Exception {
    @SuppressWarnings("unchecked")
    List<String> shown =
        (List<String>)
            script(
                "const r = document.querySelector(\"[data-worker='"
                    + worker
                    + "'] [data-resource='CPU']\");"
                    + " return [r.querySelector('.free').textContent,"
                    + " r.querySelector('.bar').title];");
    JsonNode workers = JSON.readTree(fleet.kueue("list-workers", "--json").out()).get("workers");
    for (JsonNode listed : workers) {
      if (listed.get("name").asText().equals(worker)) {
        int free = listed.at("/free/cpus").asInt();
        int total = listed.at("/capacity/total/cpus").asInt();
        String cores = free == 1 ? "1 core" : free + " cores";
        String of = total == 1 ? "1 core" : total + " cores";
        return shown.get(0).equals(cores + " free of " + of)
            && shown.get(1).endsWith("free for jobs " + cores);
      }
    }
    return false;
  }

  private String firstState() {
    return String.valueOf(
        script(
            "const c = document.querySelector('#jobs tbody tr td.state');"
                + " return c ? c.textContent : '';"));
  }

  /** Read in one script: the page replaces the batch's element whenever the view changes. */
  private int batchDone() {
    Object done =
        script(
            "const b = document.querySelector('[data-batch]');"
                + " return b ? Number(b.dataset.done) : -1;");
    return ((Number) done).intValue();
  }

  /** Waits in the browser: elements found may be replaced by the next view before they are read. */
  private static org.awaitility.core.ConditionFactory inBrowser() {
    return await().ignoreExceptions().atMost(Duration.ofSeconds(30));
  }

  @Test
  @Order(3)
  void aJobPageShowsItsHistoryAndOutput() throws Exception {
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/jobs?batch=1");
    inBrowser().until(() -> all("#jobs tbody tr").size() == 30);
    screenshot("jobs");
    page.get("http://127.0.0.1:" + port + "/jobs/5");
    inBrowser().until(() -> page.findElement(By.id("output")).getText().equals("output of 5"));
    assertThat(page.findElement(By.id("job-state")).getText()).isEqualTo("succeeded");
    assertThat(page.findElement(By.id("history")).getText())
        .contains("Attempt 1")
        .contains("started")
        .contains("ended");
  }

  @Test
  @Order(4)
  void aJobPageShowsItsOutputLiveAndEachAttemptsOwn() throws Exception {
    Path go = home.resolve("go-on");
    Path goToEnd = home.resolve("go-to-end");
    // More lines than the pane shows, so that it scrolls.
    long id =
        fleet.submit(
            "sh",
            "-c",
            "echo first; seq 1 50; echo warning >&2; while [ ! -e "
                + go
                + " ]; do sleep 0.05; done; echo middle; while [ ! -e "
                + goToEnd
                + " ]; do sleep 0.05; done; seq 51 100; echo second; exit 3");
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/jobs/" + id);
    inBrowser().until(() -> page.findElement(By.id("output")).getText().contains("warning"));
    assertThat(page.findElement(By.id("output")).getText()).startsWith("first");
    assertThat(page.findElement(By.cssSelector("#output .stderr")).getText()).isEqualTo("warning");
    assertThat(outputScrolledToItsEnd()).as("the pane follows the end").isTrue();
    script("window.loadedOnce = true");

    // Scrolled up to read: new lines leave the reader where they are.
    script("document.getElementById('output').scrollTop = 0");
    Files.writeString(go, "");
    inBrowser().until(() -> page.findElement(By.id("output")).getText().contains("middle"));
    assertThat(((Number) script("return document.getElementById('output').scrollTop")).intValue())
        .isZero();
    // Back at the end: the pane follows it again.
    script("const o = document.getElementById('output'); o.scrollTop = o.scrollHeight");
    Files.writeString(goToEnd, "");
    inBrowser().until(() -> page.findElement(By.id("output")).getText().endsWith("second"));
    assertThat(outputScrolledToItsEnd()).as("the pane follows the end").isTrue();
    inBrowser().until(() -> page.findElement(By.id("job-state")).getText().equals("failed"));

    // Run again: the page, following the latest attempt, goes on with the second one.
    page.findElement(By.id("requeue-job")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> all("#output-attempts [data-attempt='2']").size() == 1);
    // A job that ends at once writes both streams before the worker reads either: their order
    // is then the order in which the worker read them.
    inBrowser()
        .until(
            () ->
                page.findElement(By.id("output-info")).getText().startsWith("attempt 2")
                    && page.findElement(By.id("output")).getText().contains("second"));
    assertThat(script("return window.loadedOnce")).as("the page was not reloaded").isEqualTo(true);
    page.findElement(By.cssSelector("#output-attempts [data-attempt='1']")).click();
    inBrowser().until(() -> page.findElement(By.id("output-info")).getText().equals("attempt 1"));
    assertThat(script("return document.getElementById('output').textContent"))
        .as("the ended attempt's streams in the order the job wrote them")
        .isEqualTo("first\n" + lines(1, 50) + "warning\nmiddle\n" + lines(51, 100) + "second\n");
    // The history in the order things happened: the requeue between the two attempts.
    inBrowser()
        .until(
            () ->
                all("#history h3").stream()
                    .map(WebElement::getText)
                    .toList()
                    .equals(
                        List.of(
                            "Before any attempt", "Attempt 1", "After attempt 1", "Attempt 2")));
    script("document.getElementById('output').scrollIntoView(false)");
    screenshot("job");
  }

  /** The output pane shows its last line: scrolled to its end, and it does scroll. */
  private boolean outputScrolledToItsEnd() {
    return (Boolean)
        script(
            "const o = document.getElementById('output');"
                + " return o.scrollHeight > o.clientHeight"
                + " && Math.abs(o.scrollTop + o.clientHeight - o.scrollHeight) <= 2;");
  }

  private static String lines(int from, int to) {
    StringBuilder text = new StringBuilder();
    for (int line = from; line <= to; line++) {
      text.append(line).append('\n');
    }
    return text.toString();
  }

  @Test
  @Order(5)
  void cancelOnAJobPageCancelsTheJob() throws Exception {
    long id = fleet.submit("-r", "100000000", "true"); // no worker has the RAM: it stays pending
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/jobs/" + id);
    inBrowser().until(() -> !all("#cancel-job").isEmpty());
    page.findElement(By.id("cancel-job")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> page.findElement(By.id("job-state")).getText().equals("canceled"));
    Fleet.Result shown = fleet.kueue("show-job", String.valueOf(id));
    assertThat(shown.out()).contains("canceled");
  }

  /** A POST as the dashboard's page sends it: with the cookie, the CSRF token and its origin. */
  private Response action(String path) throws IOException {
    Response page = http("GET", "/", Map.of("Cookie", cookie()));
    String csrf = page.body().replaceAll("(?s).*name=\"kueue-csrf\" content=\"([^\"]+)\".*", "$1");
    return http(
        "POST",
        path,
        Map.of("Cookie", cookie(), "X-Kueue-Csrf", csrf, "Origin", "http://127.0.0.1:" + port));
  }

  /** The job's summary as the job page reads it. */
  private JsonNode summary(long id) throws IOException {
    Response job = http("GET", "/api/jobs/" + id, Map.of("Cookie", cookie()));
    assertThat(job.status()).as(job.body()).isEqualTo(200);
    return JSON.readTree(job.body()).at("/job/summary");
  }

  @Test
  @Order(6)
  void holdReleaseAndRequeueGoThroughTheGuardedActions() throws Exception {
    long pending = fleet.submit("-r", "100000000", "true"); // no worker has the RAM
    Response forged = http("POST", "/api/jobs/" + pending + "/hold", Map.of("Cookie", cookie()));
    assertThat(forged.status()).isEqualTo(403);
    assertThat(summary(pending).get("state").asText()).isEqualTo("PENDING");

    Response held = action("/api/jobs/" + pending + "/hold");
    assertThat(held.status()).as(held.body()).isEqualTo(200);
    assertThat(JSON.readTree(held.body()).get("updated").toString()).isEqualTo("[" + pending + "]");
    assertThat(summary(pending).get("state").asText()).isEqualTo("HELD");

    Response released = action("/api/jobs/" + pending + "/release");
    assertThat(released.status()).as(released.body()).isEqualTo(200);
    assertThat(summary(pending).get("state").asText()).isEqualTo("PENDING");
    Response releasedAgain = action("/api/jobs/" + pending + "/release");
    assertThat(JSON.readTree(releasedAgain.body()).get("updated").size()).isZero();
    assertThat(releasedAgain.body()).contains("is not held");

    long failing = fleet.submit("false");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> summary(failing).get("state").asText().equals("FINISHED"));
    Response requeued = action("/api/jobs/" + failing + "/requeue");
    assertThat(requeued.status()).as(requeued.body()).isEqualTo(200);
    assertThat(JSON.readTree(requeued.body()).get("updated").toString())
        .isEqualTo("[" + failing + "]");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              JsonNode again = summary(failing);
              return again.get("attempt").asInt() == 2
                  && again.get("state").asText().equals("FINISHED");
            });

    // On the job page: Hold, then Release, each confirmed.
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/jobs/" + pending);
    inBrowser().until(() -> !all("#hold-job").isEmpty());
    page.findElement(By.id("hold-job")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> page.findElement(By.id("job-state")).getText().equals("held"));
    page.findElement(By.id("release-job")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> page.findElement(By.id("job-state")).getText().equals("pending"));
  }

  @Test
  @Order(7)
  void aBatchIsHeldReleasedAndItsFailedJobsRequeued() throws Exception {
    Fleet.Result waiting = fleet.kueue("cmd", "--array", "1-3", "-r", "100000000", "true");
    assertThat(waiting.exitCode()).as(waiting.toString()).isZero();
    long stuck = Long.parseLong(waiting.out().replaceAll("(?s)^batch (\\d+):.*", "$1"));
    Fleet.Result failing = fleet.kueue("cmd", "--array", "1-2", "false");
    assertThat(failing.exitCode()).as(failing.toString()).isZero();
    long failed = Long.parseLong(failing.out().replaceAll("(?s)^batch (\\d+):.*", "$1"));

    Response held = action("/api/batches/" + stuck + "/hold");
    assertThat(held.status()).as(held.body()).isEqualTo(200);
    assertThat(JSON.readTree(held.body()).get("updated").size()).isEqualTo(3);
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/");
    inBrowser().until(() -> !all("[data-batch='" + stuck + "'] .release-batch").isEmpty());
    assertThat(all("[data-batch='" + stuck + "'] .bar .held")).hasSize(1);
    inBrowser().until(() -> !all("[data-batch='" + failed + "'] .requeue-batch").isEmpty());
    screenshot("fleet-held-and-failed");
    Response released = action("/api/batches/" + stuck + "/release");
    assertThat(JSON.readTree(released.body()).get("updated").size()).isEqualTo(3);
    assertThat(summary(stuck).get("state").asText()).isEqualTo("PENDING");

    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                summary(failed).get("state").asText().equals("FINISHED")
                    && summary(failed + 1).get("state").asText().equals("FINISHED"));
    Response requeued = action("/api/batches/" + failed + "/requeue-failed");
    assertThat(requeued.status()).as(requeued.body()).isEqualTo(200);
    assertThat(JSON.readTree(requeued.body()).get("updated").toString())
        .isEqualTo("[" + failed + "," + (failed + 1) + "]");
    assertThat(action("/api/jobs/" + failed + "/requeue-failed").status()).isEqualTo(404);

    // Cancel pending cancels the jobs that have not started and leaves the running ones: the
    // button goes with the last job it could cancel, Kill all stays while some run.
    Fleet.Result mixed = fleet.kueue("cmd", "--array", "1-8", "-c", "1", "sleep", "600");
    assertThat(mixed.exitCode()).as(mixed.toString()).isZero();
    long mixedBatch = Long.parseLong(mixed.out().replaceAll("(?s)^batch (\\d+):.*", "$1"));
    String batch = "[data-batch='" + mixedBatch + "'] ";
    inBrowser()
        .until(
            () ->
                !all(batch + ".bar .running").isEmpty()
                    && !all(batch + ".bar .pending").isEmpty()
                    && !all(batch + ".cancel-batch").isEmpty());
    page.findElement(By.cssSelector(batch + ".cancel-batch")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> all(batch + ".cancel-batch").isEmpty());
    assertThat(all(batch + ".bar .pending")).isEmpty();
    assertThat(all(batch + ".kill-batch")).hasSize(1);
    inBrowser()
        .until(
            () -> page.findElement(By.cssSelector(".message")).getText().startsWith("canceled "));
    page.findElement(By.cssSelector(batch + ".kill-batch")).click();
    page.switchTo().alert().accept();
    inBrowser().until(() -> all(batch + "button").isEmpty());
  }

  @Test
  @Order(8)
  void theJobsTableOverAHundredThousandJobsPagesQuickly() throws Exception {
    Fleet.Result submitted =
        fleet.kueue("cmd", "--array", "1-100000", "-r", "100000000", "true"); // all stay pending
    assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
    Map<String, String> withCookie = Map.of("Cookie", cookie());
    http("GET", "/api/jobs?limit=50", withCookie); // the first read of a connection warms it
    List<String> queries =
        List.of(
            "/api/jobs?limit=50",
            "/api/jobs?limit=50&state=PENDING",
            "/api/jobs?limit=50&order=oldest&after=50000",
            "/api/jobs?limit=50&batch=" + submitted.out().replaceAll("(?s)^batch (\\d+):.*", "$1"),
            "/api/jobs?limit=50&text=true&state=PENDING",
            "/api/jobs?limit=50&sort=state",
            "/api/jobs?limit=50&sort=state&order=oldest&afterState=PENDING&after=60000");
    for (String query : queries) {
      long start = System.nanoTime();
      Response page = http("GET", query, withCookie);
      long millis = (System.nanoTime() - start) / 1_000_000;
      System.out.println("dashboard page " + query + ": " + millis + " ms");
      assertThat(page.status()).as(page.body()).isEqualTo(200);
      assertThat(page.body()).contains("\"id\"");
      assertThat(millis).as(query).isLessThan(2000);
    }
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/jobs?state=PENDING");
    inBrowser().until(() -> all("#jobs tbody tr").size() == 50);
    page.findElement(By.id("page-next")).click();
    inBrowser()
        .until(
            () -> page.findElement(By.cssSelector(".pager .muted")).getText().contains("page 2"));
    screenshot("jobs-100000");

    // By state over all pages: pending first, then (reversed) the ended states first.
    page.get("http://127.0.0.1:" + port + "/jobs");
    inBrowser().until(() -> all("#jobs tbody tr").size() == 50);
    page.findElement(By.cssSelector("th[data-sort='state']")).click();
    inBrowser().until(() -> page.getCurrentUrl().contains("sort=state"));
    inBrowser().until(() -> firstState().equals("pending"));
    page.findElement(By.cssSelector("th[data-sort='state']")).click();
    inBrowser().until(() -> firstState().equals("canceled"));
    page.findElement(By.id("page-next")).click();
    inBrowser()
        .until(
            () -> page.findElement(By.cssSelector(".pager .muted")).getText().contains("page 2"));
  }

  @Test
  @Order(9)
  void theServersMetricsShowBothWorkersAndTheJobsByOutcome() throws Exception {
    String metrics;
    try (var http = java.net.http.HttpClient.newHttpClient()) {
      metrics =
          http.send(
                  java.net.http.HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString())
              .body();
    }

    assertThat(metrics.lines())
        .contains(
            "kueue_workers_connected 2.0",
            "kueue_jobs_ended_total{outcome=\"succeeded\"} 30.0",
            "kueue_jobs_ended_total{outcome=\"canceled\"} 9.0");
    assertThat(metrics.lines().filter(line -> line.startsWith("kueue_worker_slots{")))
        .anyMatch(line -> line.contains("worker=\"alpha\"") && line.contains("kind=\"total\""))
        .anyMatch(line -> line.contains("worker=\"beta\"") && line.endsWith(" 3.0"));
  }

  @Test
  @Order(10)
  void aLostWorkerShowsItsSizeAndNothingFree() throws Exception {
    WebDriver page = browser();
    page.get("http://127.0.0.1:" + port + "/");
    inBrowser().until(() -> all("[data-worker='beta'] [data-resource='CPU'] .free").size() == 1);
    beta.destroy();
    inBrowser().until(() -> all("[data-worker='beta'].lost").size() == 1);
    String card = page.findElement(By.cssSelector("[data-worker='beta']")).getText();
    assertThat(card).contains("last seen").doesNotContain("free").doesNotContain("load");
    assertThat(
            page.findElement(By.cssSelector("[data-worker='beta'] [data-resource='CPU']"))
                .getText())
        .matches("(?s)CPU\\s+\\d+ cores? · lost");
  }
}
