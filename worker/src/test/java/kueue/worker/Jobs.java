package kueue.worker;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;

/** Job specs for tests: one slot, one CPU, no RAM, the worker's environment, output captured. */
final class Jobs {
  private Jobs() {}

  static JobSpec command(Path cwd, String... argv) {
    return new JobSpec(List.of(argv), cwd.toString(), null, 1, 1, 0, Map.of(), null, null);
  }

  static JobSpec withEnv(JobSpec spec, Map<String, String> env) {
    return new JobSpec(
        spec.argv(),
        spec.cwd(),
        env,
        spec.slots(),
        spec.cpus(),
        spec.ramMb(),
        spec.globalResources(),
        spec.stdout(),
        spec.stderr());
  }

  static JobSpec withOutput(JobSpec spec, String stdout, String stderr) {
    return new JobSpec(
        spec.argv(),
        spec.cwd(),
        spec.env(),
        spec.slots(),
        spec.cpus(),
        spec.ramMb(),
        spec.globalResources(),
        stdout,
        stderr);
  }
}
