package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listings longer than one message carries (the server sends 5,000 jobs a page) arrive whole, in
 * order, and output that is not a terminal is neither cut to a height nor clipped to a width.
 */
class LongListingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int JOBS = 12_000;

  @TempDir Path home;

  @Test
  void longListingsArriveWholeInPagesAndPipedTablesAreComplete() throws Exception {
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      // No worker: every job stays pending.
      String longArgument = "x".repeat(300);
      Fleet.Result submitted = fleet.kueue("cmd", "--array", "1-" + JOBS, "echo", longArgument);
      assertThat(submitted.exitCode()).as(submitted.toString()).isZero();
      long single = fleet.submit("true");

      JsonNode all = JSON.readTree(ok(fleet.kueue("list-jobs", "-n", "0", "--json")).out());
      List<Long> ids = ids(all);
      assertThat(ids).hasSize(JOBS + 1).isSorted().doesNotHaveDuplicates();
      assertThat(ids.getLast()).isEqualTo(single);
      assertThat(all.get("stats").get("pending").asLong()).isEqualTo(JOBS + 1);

      long batch = ids.getFirst();
      JsonNode newest =
          JSON.readTree(
              ok(fleet.kueue("list-jobs", "--batch", String.valueOf(batch), "-n", "7000", "--json"))
                  .out());
      assertThat(ids(newest))
          .hasSize(7000)
          .startsWith(batch + JOBS - 7000)
          .endsWith(batch + JOBS - 1)
          .isSorted();

      List<String> table = ok(fleet.kueue("list-jobs", "-p")).out().lines().toList();
      assertThat(table).hasSize(JOBS + 1 + 2);
      assertThat(table.get(1)).contains(longArgument).doesNotContain("…");
      assertThat(table.getLast()).startsWith("pending " + (JOBS + 1));
      // The header is printed once, not once per page.
      assertThat(table.stream().filter(line -> line.strip().startsWith("id "))).hasSize(1);
    }
  }

  private static List<Long> ids(JsonNode list) {
    List<Long> ids = new ArrayList<>();
    list.get("jobs").forEach(job -> ids.add(job.get("id").asLong()));
    return ids;
  }

  private static Fleet.Result ok(Fleet.Result result) {
    assertThat(result.exitCode()).as(result.toString()).isZero();
    return result;
  }
}
