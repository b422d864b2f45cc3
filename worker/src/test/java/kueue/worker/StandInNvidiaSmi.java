package kueue.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The stand-in nvidia-smi of src/test/resources/nvidia-smi, installed in a directory of its own
 * with a copy of one fixture that a test may change (resources lose their executable bit on the way
 * to the class path, so the script is copied from the source tree).
 */
final class StandInNvidiaSmi {
  static final Path SOURCE = Path.of("src/test/resources/nvidia-smi");

  final Path bin;
  final Path fixture;

  private StandInNvidiaSmi(Path bin, Path fixture) {
    this.bin = bin;
    this.fixture = fixture;
  }

  static StandInNvidiaSmi install(Path directory, String fixtureName) {
    try {
      Path bin = Files.createDirectories(directory.resolve("bin"));
      Path script = bin.resolve("nvidia-smi");
      Files.copy(SOURCE.resolve("nvidia-smi"), script, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path fixture = Files.createDirectories(directory.resolve("fixture"));
      try (Stream<Path> files = Files.list(SOURCE.resolve(fixtureName))) {
        for (Path file : files.toList()) {
          Files.copy(
              file, fixture.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return new StandInNvidiaSmi(bin, fixture);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The environment that finds the stand-in first and points it at the fixture. */
  Map<String, String> environment() {
    return Map.of("PATH", bin + ":/usr/bin:/bin", "NVIDIA_SMI_FIXTURE", fixture.toString());
  }
}
