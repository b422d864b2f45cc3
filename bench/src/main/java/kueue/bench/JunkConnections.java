package kueue.bench;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import kueue.client.KueueClient;
import kueue.protocol.Message;

/**
 * A legitimate client against a flood of connections that never authenticate: JUNK connections from
 * 40 loopback addresses (127.0.0.2 to 127.0.0.41, so several per-address budgets fill at once) are
 * held open and opened again as soon as the server drops one. Meanwhile a client opens a fresh
 * authenticated connection and asks for the job list, as `kueue list-jobs` does, and its times are
 * compared side by side with the same requests on a quiet server in the same run.
 *
 * <pre>bench/junk-connections [JUNK=10000] [REQUESTS=40]</pre>
 */
public final class JunkConnections {
  private static final int SOURCE_ADDRESSES = 40;

  public static void main(String[] args) throws Exception {
    int junk = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int requests = args.length > 1 ? Integer.parseInt(args[1]) : 40;
    try (BenchFleet fleet = new BenchFleet("", "")) {
      fleet.startServer("-Xmx512m");
      int port = fleet.loadConfig().common().serverPort();

      Result quiet = listJobs(fleet, requests);
      long logBefore = Files.size(fleet.dir.resolve("server.log"));

      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger open = new AtomicInteger();
      AtomicLong opened = new AtomicLong();
      List<Thread> holders = new ArrayList<>();
      for (int i = 0; i < junk; i++) {
        String source = "127.0.0." + (2 + i % SOURCE_ADDRESSES);
        holders.add(Thread.ofVirtual().start(() -> holdOpen(source, port, stop, open, opened)));
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (open.get() < junk * 9 / 10 && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      System.out.printf("junk connections held open: %d of %d%n", open.get(), junk);

      long junkStart = opened.get();
      long started = System.nanoTime();
      Result flooded = listJobs(fleet, requests);
      double seconds = (System.nanoTime() - started) / 1e9;
      long churn = opened.get() - junkStart;
      long logGrowth = Files.size(fleet.dir.resolve("server.log")) - logBefore;
      stop.set(true);
      holders.forEach(Thread::interrupt);

      System.out.printf(
          "junk connections opened during the measured requests: %d (%.0f per second)%n",
          churn, churn / seconds);
      System.out.printf("list_jobs on a quiet server:   %s%n", quiet);
      System.out.printf("list_jobs under the junk flood: %s%n", flooded);
      System.out.printf(
          "median ratio flooded/quiet: %.2f%n", flooded.median() / Math.max(0.001, quiet.median()));
      System.out.printf("server log growth during the flood: %d bytes%n", logGrowth);
    }
  }

  /** One junk connection, opened again whenever the server closes it, until stopped. */
  private static void holdOpen(
      String source, int port, AtomicBoolean stop, AtomicInteger open, AtomicLong opened) {
    while (!stop.get()) {
      try (Socket socket = new Socket()) {
        socket.bind(new InetSocketAddress(source, 0));
        socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        opened.incrementAndGet();
        open.incrementAndGet();
        try {
          InputStream in = socket.getInputStream();
          while (in.read() >= 0) {
            // a plain-text client at a TLS server is told so; wait for the close
          }
        } finally {
          open.decrementAndGet();
        }
      } catch (Exception dropped) {
        if (stop.get()) {
          return;
        }
      }
    }
  }

  private record Result(int succeeded, int asked, List<Double> millis) {
    double median() {
      return Stats.percentile(millis, 50);
    }

    @Override
    public String toString() {
      return String.format(
          "%d of %d succeeded, median %.1f ms, p99 %.1f ms, max %.1f ms",
          succeeded,
          asked,
          median(),
          Stats.percentile(millis, 99),
          millis.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
    }
  }

  /** Each request on a connection of its own, TLS and authentication included. */
  private static Result listJobs(BenchFleet fleet, int requests) throws Exception {
    List<Double> millis = new ArrayList<>();
    int succeeded = 0;
    for (int i = 0; i < requests; i++) {
      long start = System.nanoTime();
      try (KueueClient client = fleet.client()) {
        client.request(new Message.ListJobs(0, List.of()));
        succeeded++;
      } catch (Exception e) {
        System.out.println("list_jobs failed: " + e.getMessage());
      }
      millis.add((System.nanoTime() - start) / 1e6);
      Thread.sleep(100);
    }
    return new Result(succeeded, requests, millis);
  }

  private JunkConnections() {}
}
