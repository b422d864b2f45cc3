package kueue.worker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;

/** Job specs for tests: one slot, one CPU, no RAM, the worker's environment, output captured. */
final class Jobs {
  private Jobs() {}

  static JobSpec command(Path cwd, String... argv) {
    return JobSpecBuilder.builder()
        .argv(List.of(argv))
        .cwd(cwd.toString())
        .slots(1)
        .cpus(1)
        .ramMb(0)
        .globalResources(Map.of())
        .build();
  }

  static JobSpec withEnv(JobSpec spec, Map<String, String> env) {
    return JobSpecBuilder.builder()
        .argv(spec.argv())
        .cwd(spec.cwd())
        .env(env)
        .slots(spec.slots())
        .cpus(spec.cpus())
        .ramMb(spec.ramMb())
        .globalResources(spec.globalResources())
        .stdout(spec.stdout())
        .stderr(spec.stderr())
        .build();
  }

  static JobSpec withOutput(JobSpec spec, String stdout, String stderr) {
    return JobSpecBuilder.builder()
        .argv(spec.argv())
        .cwd(spec.cwd())
        .env(spec.env())
        .slots(spec.slots())
        .cpus(spec.cpus())
        .ramMb(spec.ramMb())
        .globalResources(spec.globalResources())
        .stdout(stdout)
        .stderr(stderr)
        .build();
  }
}
