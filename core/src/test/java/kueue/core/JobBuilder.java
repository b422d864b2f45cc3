package kueue.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;

/** A job spec with small defaults; tests only name what matters to them. */
final class JobBuilder {
  private List<String> argv = List.of("./run.sh");
  private String cwd = "/home/user/experiment";
  private int slots = 1;
  private int cpus = 1;
  private long ramMb = 100;
  private final Map<String, Integer> globalResources = new LinkedHashMap<>();
  private Integer retries;
  private Long retryDelaySeconds;
  private Long timeLimitSeconds;
  private final Map<String, Double> workerResources = new LinkedHashMap<>();
  private long gpuRamMb;

  static JobBuilder aJob() {
    return new JobBuilder();
  }

  JobBuilder slots(int slots) {
    this.slots = slots;
    return this;
  }

  JobBuilder cpus(int cpus) {
    this.cpus = cpus;
    return this;
  }

  JobBuilder ramMb(long ramMb) {
    this.ramMb = ramMb;
    return this;
  }

  JobBuilder resource(String name, int count) {
    globalResources.put(name, count);
    return this;
  }

  JobBuilder gpus(double amount) {
    return device("gpus", amount);
  }

  JobBuilder device(String name, double amount) {
    workerResources.put(name, amount);
    return this;
  }

  JobBuilder gpuRamMb(long gpuRamMb) {
    this.gpuRamMb = gpuRamMb;
    return this;
  }

  JobBuilder cwd(String cwd) {
    this.cwd = cwd;
    return this;
  }

  JobBuilder argv(String... argv) {
    this.argv = new ArrayList<>(List.of(argv));
    return this;
  }

  JobBuilder retries(int retries) {
    this.retries = retries;
    return this;
  }

  JobBuilder retryDelaySeconds(long seconds) {
    this.retryDelaySeconds = seconds;
    return this;
  }

  JobBuilder timeLimitSeconds(long seconds) {
    this.timeLimitSeconds = seconds;
    return this;
  }

  JobSpec build() {
    return JobSpecBuilder.builder()
        .argv(argv)
        .cwd(cwd)
        .env(Map.of("HOME", "/home/user"))
        .slots(slots)
        .cpus(cpus)
        .ramMb(ramMb)
        .globalResources(globalResources)
        .retries(retries)
        .retryDelaySeconds(retryDelaySeconds)
        .timeLimitSeconds(timeLimitSeconds)
        .workerResources(workerResources)
        .gpuRamMb(gpuRamMb)
        .build();
  }
}
