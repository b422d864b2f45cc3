package kueue.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kueue.model.Dependency;
import kueue.model.DependencyKind;
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
  private int priority;
  private boolean hold;
  private List<Dependency> dependencies = List.of();

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

  JobBuilder priority(int priority) {
    this.priority = priority;
    return this;
  }

  JobBuilder held() {
    this.hold = true;
    return this;
  }

  /** Slurm's form, e.g. "afterok:3:4,afterany:5". */
  JobBuilder dependency(String dependencies) {
    this.dependencies = Dependency.parse(dependencies);
    return this;
  }

  JobBuilder after(long... parents) {
    List<Dependency> list = new ArrayList<>();
    for (long parent : parents) {
      list.add(new Dependency(DependencyKind.AFTEROK, parent));
    }
    this.dependencies = list;
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
        .priority(priority)
        .hold(hold)
        .dependencies(dependencies)
        .build();
  }
}
