package kueue.dist;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Priorities, holds and dependencies from the command line, across a server restart: jobs queued
 * before the restart start by priority after it, a failed parent cancels its chain with the reason,
 * a held job waits for its release, and a requeued parent brings its chain back.
 */
class WorkflowEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path home;

  @Test
  void priorityHoldAndDependenciesSurviveARestart() throws Exception {
    Path order = home.resolve("order.txt");
    try (Fleet fleet = new Fleet(home)) {
      fleet.startServer(Map.of());
      long low = fleet.submit("sh", "-c", "echo low >> " + order);
      long high = fleet.submit("--priority", "5", "sh", "-c", "echo high >> " + order);
      long held = fleet.submit("--hold", "sh", "-c", "echo held >> " + order);
      Path fixed = home.resolve("fixed");
      long failing = fleet.submit("--priority", "-1", "test", "-f", fixed.toString());
      long child = fleet.submit("--after", String.valueOf(failing), "true");
      long grandchild = fleet.submit("-d", "afterok:" + child, "true");
      long cleanup = fleet.submit("-d", "afternotok:" + failing, "echo", "cleaning up");
      Fleet.Result unknown = fleet.kueue("cmd", "--after", "9999", "true");
      assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(5);
      assertThat(unknown.err()).contains("job 9999 not found");

      fleet.killServer();
      fleet.startServer(Map.of());
      assertThat(fleet.kueue("list-jobs", "--waiting").out())
          .contains(" " + child + " ", " " + grandchild + " ", "waiting");
      fleet.startWorker("solo", "worker_max_parallel_jobs = 1");

      Fleet.Result chain = fleet.kueue("wait-job", String.valueOf(grandchild));
      assertThat(chain.exitCode()).as(chain.toString()).isEqualTo(130);
      assertThat(note(fleet, child)).isEqualTo("dependency on job " + failing + " failed");
      assertThat(note(fleet, grandchild))
          .isEqualTo("dependency on job " + child + " failed: it was canceled");
      Fleet.Result late = fleet.kueue("cmd", "--after", String.valueOf(failing), "true");
      assertThat(late.exitCode()).as(late.toString()).isZero();
      long canceledAtOnce = Long.parseLong(late.out().strip());
      assertThat(late.err())
          .contains(
              "job "
                  + canceledAtOnce
                  + " was canceled at once: dependency on job "
                  + failing
                  + " failed");
      Fleet.Result cleaned = fleet.kueue("wait-job", String.valueOf(cleanup));
      assertThat(cleaned.exitCode()).as(cleaned.toString()).isZero();
      assertThat(fleet.kueue("wait-job", String.valueOf(low)).exitCode()).isZero();
      assertThat(Files.readAllLines(order)).containsExactly("high", "low");
      Fleet.Result show = fleet.kueue("show-job", String.valueOf(child));
      assertThat(show.out()).contains("afterok " + failing + " (failed (exit 1))");

      assertThat(fleet.kueue("list-jobs", "--held").out()).contains(" " + held + " ", "held");
      Fleet.Result released = fleet.kueue("release", String.valueOf(held));
      assertThat(released.exitCode()).as(released.toString()).isZero();
      assertThat(fleet.kueue("wait-job", String.valueOf(held)).exitCode()).isZero();
      assertThat(Files.readAllLines(order)).containsExactly("high", "low", "held");
      Fleet.Result again = fleet.kueue("release", String.valueOf(held));
      assertThat(again.exitCode()).as(again.toString()).isEqualTo(5);
      assertThat(again.err()).contains("job " + held + " has already ended");

      Files.createFile(fixed);
      Fleet.Result requeued = fleet.kueue("requeue", String.valueOf(failing));
      assertThat(requeued.out())
          .as(requeued.toString())
          .contains(
              "4 jobs requeued: "
                  + failing
                  + " "
                  + child
                  + " "
                  + grandchild
                  + " "
                  + canceledAtOnce);
      Fleet.Result rerun = fleet.kueue("wait-job", String.valueOf(grandchild));
      assertThat(rerun.exitCode()).as(rerun.toString()).isZero();
      assertThat(fleet.kueue("show-job", String.valueOf(failing)).out())
          .contains("ended: exit 1", "requeued: by user", "attempt 2");
    }
  }

  private static String note(Fleet fleet, long job) throws Exception {
    JsonNode detail = JSON.readTree(fleet.kueue("show-job", String.valueOf(job), "--json").out());
    return detail.at("/summary/note").asText();
  }
}
