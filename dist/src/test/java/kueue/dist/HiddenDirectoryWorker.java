package kueue.dist;

import java.util.ArrayList;
import java.util.List;

/**
 * Starts a real worker in a private mount namespace where one directory is covered by an empty
 * tmpfs, so that this worker cannot see what the other workers see: a machine without a shared
 * home, simulated on one host.
 */
public final class HiddenDirectoryWorker {
  public static void main(String[] args) throws Exception {
    String hidden = args[0];
    String config = args[1];
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> command =
        new ArrayList<>(
            List.of(
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs none \"$1\" && exec \"$2\" --enable-native-access=ALL-UNNAMED -Xmx128m -cp \"$3\" kueue.worker.WorkerMain -c \"$4\"",
                "sh",
                hidden,
                java,
                System.getProperty("java.class.path"),
                config));
    Process worker = new ProcessBuilder(command).inheritIO().start();
    System.exit(worker.waitFor());
  }
}
