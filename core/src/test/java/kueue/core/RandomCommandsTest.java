package kueue.core;

import static kueue.core.JobBuilder.aJob;
import static kueue.core.WorkerBuilder.aWorker;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import kueue.model.AttemptRef;
import kueue.model.JobState;
import kueue.model.Resources;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Thousands of random commands, well-formed and stale, with the harness checking after every step
 * that no worker, global resource or the global cap is over-committed, that no job is on two
 * workers, and that no pending job waits while a willing worker could take it.
 */
class RandomCommandsTest {
  private static final int STEPS = 3000;

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void randomCommandsNeverBreakTheSchedulersPromises(long seed) {
    Random random = new Random(seed);
    SchedulerHarness harness =
        SchedulerHarness.settings()
            .maxParallelJobs(12)
            .resource("genus", 3)
            .resource("matlab", 1)
            .workerTimeout(Duration.ofSeconds(120))
            .offerTimeout(Duration.ofSeconds(45))
            .maxAttempts(4)
            .harness();
    harness.restore(
        List.of(
            new RestoredJob(
                1, JobState.RUNNING, new Resources(1, 2, 500), Map.of("genus", 1), 1, harness.now),
            new RestoredJob(
                2, JobState.OFFERED, new Resources(2, 1, 100), Map.of(), 3, harness.now),
            new RestoredJob(
                3,
                JobState.PENDING,
                new Resources(1, 1, 100),
                Map.of("matlab", 1),
                0,
                harness.now)));
    Map<Class<?>, Integer> seen = new HashMap<>();
    List<Long> workers = new ArrayList<>();
    long nextWorkerId = 1;

    for (int step = 0; step < STEPS; step++) {
      int dice = random.nextInt(100);
      if (dice < 18) {
        JobBuilder[] jobs = new JobBuilder[1 + random.nextInt(3)];
        for (int i = 0; i < jobs.length; i++) {
          jobs[i] = randomJob(random);
          addRandomDependencies(random, harness, jobs[i]);
        }
        harness.submitSpecs(java.util.Arrays.stream(jobs).map(JobBuilder::build).toList());
      } else if (dice < 23 && workers.size() < 6) {
        long id = nextWorkerId++;
        workers.add(id);
        harness.connectAs(id, randomWorker(random), randomClaims(random, harness));
      } else if (dice < 35 && !workers.isEmpty()) {
        harness.update(pick(random, workers), randomWorker(random));
      } else if (dice < 37 && !workers.isEmpty()) {
        long id = pick(random, workers);
        workers.remove(id);
        harness.disconnect(id);
      } else if (dice < 46) {
        AttemptOnWorker offered = pickOnWorker(random, harness, JobState.OFFERED);
        if (offered != null) {
          harness.decline(offered.workerId, offered.jobId, offered.attempt, random.nextBoolean());
        }
      } else if (dice < 48) {
        AttemptOnWorker running = pickOnWorker(random, harness, JobState.RUNNING);
        if (running != null) {
          harness.release(running.workerId, running.jobId, running.attempt);
        }
      } else if (dice < 62) {
        AttemptOnWorker offered = pickOnWorker(random, harness, JobState.OFFERED);
        if (offered != null) {
          harness.start(offered.workerId, offered.jobId, offered.attempt);
        }
      } else if (dice < 76) {
        AttemptOnWorker running = pickOnWorker(random, harness, JobState.RUNNING);
        if (running != null) {
          if (random.nextInt(8) == 0) {
            harness.timeOut(running.workerId, running.jobId, running.attempt);
          } else {
            harness.end(running.workerId, running.jobId, running.attempt, random.nextInt(3));
          }
        }
      } else if (dice < 82 && !workers.isEmpty()) {
        staleMessage(random, harness, pick(random, workers));
      } else if (dice < 88 && random.nextInt(6) == 0 && !harness.endedJobs().isEmpty()) {
        harness.rerun(pick(random, harness.endedJobs()));
      } else if (dice < 88 && random.nextInt(3) == 0) {
        List<Long> active = sorted(harness);
        List<Long> some = new ArrayList<>();
        for (int i = random.nextInt(3); i >= 0 && !active.isEmpty(); i--) {
          some.add(pick(random, active));
        }
        int what = random.nextInt(3);
        harness.update(
            some,
            new kueue.model.JobUpdate(
                what == 2 ? null : what == 0, random.nextBoolean() ? null : random.nextInt(5)));
      } else if (dice < 88) {
        List<Long> active = sorted(harness);
        long job =
            active.isEmpty() || random.nextInt(10) == 0
                ? 10_000 + random.nextInt(10)
                : pick(random, active);
        harness.cancel(job, random.nextBoolean());
      } else {
        harness.advance(Duration.ofSeconds(random.nextInt(40)));
        harness.tick();
        workers.retainAll(harness.scheduler.workers().stream().map(WorkerView::workerId).toList());
      }
      harness.last.events().forEach(event -> seen.merge(event.getClass(), 1, Integer::sum));
      harness.last.effects().forEach(effect -> seen.merge(effect.getClass(), 1, Integer::sum));
    }

    assertThat(seen)
        .as("every kind of decision was exercised")
        .containsKeys(
            Event.JobOffered.class,
            Event.JobStarted.class,
            Event.JobEnded.class,
            Event.JobDeclined.class,
            Event.JobRequeued.class,
            Event.JobCanceled.class,
            Event.JobFailed.class,
            Event.JobTimedOut.class,
            Event.JobRetried.class,
            Effect.SendKill.class,
            Effect.CloseWorker.class,
            Effect.RequestRejected.class,
            Event.JobHeld.class,
            Event.JobReleased.class,
            Event.JobBlocked.class,
            Event.JobUnblocked.class,
            Event.JobUpdated.class,
            Event.JobRerun.class,
            Effect.JobsUpdated.class);
  }

  private record AttemptOnWorker(long workerId, long jobId, int attempt) {}

  private static JobBuilder randomJob(Random random) {
    JobBuilder job =
        aJob().slots(1 + random.nextInt(2)).cpus(random.nextInt(5)).ramMb(500L * random.nextInt(6));
    int resources = random.nextInt(10);
    if (resources < 2) {
      job.resource("genus", 1 + random.nextInt(2));
    } else if (resources == 2) {
      job.resource("matlab", 1);
    } else if (resources == 3 && random.nextInt(5) == 0) {
      job.resource("nonexistent", 1);
    }
    if (random.nextInt(30) == 0) {
      job.cpus(40);
    }
    if (random.nextInt(4) == 0) {
      job.retries(1 + random.nextInt(3));
      if (random.nextBoolean()) {
        job.retryDelaySeconds(random.nextInt(60));
      }
    }
    int gpus = random.nextInt(8);
    if (gpus < 2) {
      job.gpus(1 + gpus);
    } else if (gpus == 2) {
      job.gpus(random.nextBoolean() ? 0.5 : 0.25);
    } else if (gpus == 3 && random.nextInt(3) == 0) {
      job.gpus(1).gpuRamMb(30_000);
    }
    return job;
  }

  /** Some jobs are held, have a priority, or depend on jobs active or ended. */
  private static void addRandomDependencies(
      Random random, SchedulerHarness harness, JobBuilder job) {
    if (random.nextInt(8) == 0) {
      job.held();
    }
    if (random.nextInt(4) == 0) {
      job.priority(random.nextInt(7) - 3);
    }
    List<Long> active = sorted(harness);
    if (active.isEmpty() || random.nextInt(3) != 0) {
      return;
    }
    String[] kinds = {"afterok", "afterany", "afternotok"};
    StringBuilder dependencies = new StringBuilder();
    for (int i = random.nextInt(2); i >= 0; i--) {
      long parent = pick(random, active);
      if (random.nextInt(4) == 0) {
        // A job that may have ended by now.
        parent = 1 + random.nextLong(parent);
      }
      if (!dependencies.isEmpty()) {
        dependencies.append(',');
      }
      dependencies.append(kinds[random.nextInt(kinds.length)]).append(':').append(parent);
    }
    job.dependency(dependencies.toString());
  }

  private static WorkerBuilder randomWorker(Random random) {
    int cpus = 2 + random.nextInt(8);
    long ram = 1000L * (1 + random.nextInt(8));
    return withRandomGpus(aWorker(), random)
        .slots(1 + random.nextInt(4))
        .cpus(cpus)
        .ramMb(ram)
        .loadCpus(random.nextInt(4) == 0 ? random.nextInt(cpus + 1) : 0)
        .availableRamMb(random.nextInt(4) == 0 ? random.nextLong(ram + 1) : ram);
  }

  /** A worker with GPUs now and then, some of them used outside Kueue or with memory in use. */
  private static WorkerBuilder withRandomGpus(WorkerBuilder worker, Random random) {
    if (random.nextInt(3) != 0) {
      return worker;
    }
    int count = 1 + random.nextInt(4);
    for (int index = 0; index < count; index++) {
      int use = random.nextInt(6);
      worker.gpu(
          index,
          use == 0 ? 20_000 : 0,
          use == 1 ? "used by another user: alice, pid " + (4000 + index) : null);
    }
    return worker;
  }

  /**
   * Attempts a connecting worker claims: some current (restored or on another worker), some stale.
   */
  private static AttemptRef[] randomClaims(Random random, SchedulerHarness harness) {
    List<AttemptRef> claims = new ArrayList<>();
    for (long jobId : sorted(harness)) {
      ActiveJobView job = harness.view(jobId);
      if (job.state().isOnWorker() && random.nextInt(job.workerId() == -1 ? 2 : 8) == 0) {
        claims.add(new AttemptRef(jobId, job.attempt()));
      } else if (random.nextInt(20) == 0) {
        claims.add(new AttemptRef(jobId, job.attempt() + 1));
      }
    }
    return claims.toArray(AttemptRef[]::new);
  }

  private static void staleMessage(Random random, SchedulerHarness harness, long workerId) {
    List<Long> active = sorted(harness);
    long jobId = active.isEmpty() || random.nextInt(4) == 0 ? 20_000 : pick(random, active);
    int attempt = random.nextInt(4);
    switch (random.nextInt(4)) {
      case 0 -> harness.start(workerId, jobId, attempt);
      case 1 -> harness.end(workerId, jobId, attempt, 1);
      case 2 -> harness.release(workerId, jobId, attempt);
      default -> harness.decline(workerId, jobId, attempt, random.nextBoolean());
    }
  }

  private static AttemptOnWorker pickOnWorker(
      Random random, SchedulerHarness harness, JobState state) {
    List<AttemptOnWorker> candidates = new ArrayList<>();
    for (long jobId : sorted(harness)) {
      ActiveJobView job = harness.view(jobId);
      if (job.state() == state && job.workerId() != -1) {
        candidates.add(new AttemptOnWorker(job.workerId(), jobId, job.attempt()));
      }
    }
    return candidates.isEmpty() ? null : pick(random, candidates);
  }

  private static List<Long> sorted(SchedulerHarness harness) {
    return harness.activeJobs().stream().sorted().toList();
  }

  private static <T> T pick(Random random, List<T> items) {
    return items.get(random.nextInt(items.size()));
  }
}
