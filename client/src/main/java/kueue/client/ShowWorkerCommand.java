package kueue.client;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import kueue.model.DeviceState;
import kueue.model.Resources;
import kueue.model.SystemInfo;
import kueue.model.WorkerDevice;
import kueue.model.WorkerResources;
import kueue.model.WorkerSummary;
import kueue.model.WorkerUsage;
import kueue.protocol.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code kueue show-worker}: one worker's machine, capacity and jobs. */
@Command(
    name = "show-worker",
    mixinStandardHelpOptions = true,
    versionProvider = KueueCli.Version.class,
    description = "Show one worker: its machine, what it reserves and has free, and its jobs.")
final class ShowWorkerCommand extends ServerCommand {
  @Parameters(paramLabel = "WORKER", description = "Worker id or name (see list-workers).")
  String worker;

  @Option(names = "--json", description = "Print JSON (see docs/JSON.md).")
  boolean json;

  ShowWorkerCommand(CliContext context) {
    super(context);
  }

  @Override
  int run(KueueClient client) throws CliException {
    long id = WorkerNames.resolve(worker, client);
    Message.WorkerDetails details =
        client.request(new Message.ShowWorker(id), Message.WorkerDetails.class);
    if (json) {
      JsonOutput.print(out(), details);
      return ExitCodes.OK;
    }
    Instant now = context.clock().instant();
    print(details.worker(), now, out());
    out().println();
    if (details.jobs() == null || details.jobs().isEmpty()) {
      out().println("no jobs on this worker");
    } else {
      JobTable.render(details.jobs(), now, terminal().width(), terminal().colors())
          .forEach(out()::println);
    }
    return ExitCodes.OK;
  }

  static void print(WorkerSummary worker, Instant now, PrintWriter out) {
    SystemInfo system = worker.system();
    List<String[]> fields = new ArrayList<>();
    if (system != null) {
      fields.add(new String[] {"host", dash(system.hostname())});
      fields.add(new String[] {"os", dash(system.os())});
      fields.add(new String[] {"kernel", dash(system.kernel())});
      fields.add(
          new String[] {
            "cores", system.cores() + " at " + WorkerFormat.mhz(system.cpuMhz()) + " MHz"
          });
      fields.add(new String[] {"RAM", WorkerFormat.ram(system) + " free/total"});
      fields.add(new String[] {"load 1/5/15", WorkerFormat.load(system)});
      fields.add(new String[] {"uptime", WorkerFormat.uptime(system)});
    }
    if (worker.capacity() != null) {
      fields.add(new String[] {"capacity", resources(worker.capacity().total())});
    }
    fields.add(new String[] {"reserved", resources(worker.reserved())});
    WorkerUsage usage = worker.capacity() == null ? null : worker.capacity().usage();
    if (usage != null) {
      String window = String.format(Locale.ROOT, "over the last %.0f s", usage.windowSeconds());
      fields.add(
          new String[] {
            "used by Kueue",
            use(usage.kueueCpus(), usage.kueueRamMb())
                + " (the worker and its jobs, "
                + window
                + ")"
          });
      fields.add(
          new String[] {
            "used by others",
            use(usage.othersCpus(), usage.othersRamMb()) + " (other programs, " + window + ")"
          });
    }
    fields.add(new String[] {"free", resources(worker.free())});
    fields.add(new String[] {"running jobs", String.valueOf(worker.runningJobs())});
    fields.add(new String[] {"busy", WorkerFormat.busy(worker.busyness())});
    fields.add(new String[] {"connected", JobFormat.timeAndAge(worker.connected(), now)});
    fields.add(new String[] {"last seen", JobFormat.timeAndAge(worker.lastSeen(), now)});
    out.println("worker " + worker.id() + " " + worker.name());
    int labelWidth = fields.stream().mapToInt(f -> f[0].length()).max().orElse(0) + 1;
    for (String[] f : fields) {
      String label = f[0] + ":";
      out.println("  " + label + " ".repeat(labelWidth - label.length()) + " " + f[1]);
    }
    if (!worker.devices().isEmpty()) {
      out.println();
      out.println("devices:");
      printDevices(worker.devices(), out);
    }
  }

  /**
   * One line per device: which, the model, memory used/total and utilization (GPUs), and whose it
   * is now: free, Kueue's (which jobs) or someone else's (user and pid where visible).
   */
  static void printDevices(List<DeviceState> devices, PrintWriter out) {
    List<String[]> rows = new ArrayList<>();
    for (DeviceState state : devices) {
      WorkerDevice device = state.device();
      boolean gpu = device.resource().equals(WorkerResources.GPUS);
      rows.add(
          new String[] {
            WorkerResources.deviceWord(device.resource()) + " " + device.index(),
            device.name() == null ? "" : device.name(),
            gpu ? device.memoryUsedMb() + "/" + device.memoryTotalMb() + " MiB" : "",
            gpu ? device.utilizationPercent() + "%" : "",
            use(state)
          });
    }
    int[] widths = new int[5];
    for (String[] row : rows) {
      for (int i = 0; i < row.length; i++) {
        widths[i] = Math.max(widths[i], DisplayWidth.of(row[i]));
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder(" ");
      for (int i = 0; i < row.length; i++) {
        if (widths[i] == 0) {
          continue;
        }
        line.append(' ');
        boolean right = i == 2 || i == 3;
        String padding = " ".repeat(widths[i] - DisplayWidth.of(row[i]));
        line.append(right ? padding + row[i] : i == row.length - 1 ? row[i] : row[i] + padding);
        line.append(i == row.length - 1 ? "" : " ");
      }
      out.println(line.toString().stripTrailing());
    }
  }

  private static String use(DeviceState state) {
    List<String> parts = new ArrayList<>();
    if (!state.jobIds().isEmpty()) {
      String share =
          state.taken() < 1 ? " (" + WorkerResources.format(state.taken()) + " taken)" : "";
      parts.add(
          "Kueue: job"
              + (state.jobIds().size() == 1 ? " " : "s ")
              + String.join(", ", state.jobIds().stream().map(String::valueOf).toList())
              + share);
    }
    if (state.device().busy() != null) {
      parts.add("someone else's: " + state.device().busy());
    }
    return parts.isEmpty() ? "free" : String.join("; ", parts);
  }

  private static String use(double cpus, long ramMb) {
    return String.format(Locale.ROOT, "%.1f CPUs, %d MB RAM", cpus, ramMb);
  }

  private static String resources(Resources resources) {
    if (resources == null) {
      return "-";
    }
    return plural(resources.slots(), "slot")
        + ", "
        + plural(resources.cpus(), "CPU")
        + ", "
        + resources.ramMb()
        + " MB RAM";
  }

  private static String plural(long count, String noun) {
    return count + " " + noun + (count == 1 ? "" : "s");
  }

  private static String dash(String text) {
    return text == null || text.isBlank() ? "-" : text;
  }
}
