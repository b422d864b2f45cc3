package kueue.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgramLocationsTest {
  @TempDir Path dir;

  private final AtomicLong now = new AtomicLong(1_000);
  private final ProgramLocations programs = new ProgramLocations(now::get);

  private static Path executable(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    Files.writeString(file, "#!/bin/sh\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
    return file;
  }

  @Test
  void aProgramPutInAnEarlierDirectoryIsFoundOnceTheRememberedLocationExpires() throws IOException {
    Path early = dir.resolve("early");
    Path late = executable(dir.resolve("late/prog"));
    Files.createDirectories(early);
    String path = early + ":" + dir.resolve("late");

    assertThat(programs.resolve("prog", dir, path)).isEqualTo(late);
    Path newer = executable(early.resolve("prog"));
    // Within the time a location is remembered, the PATH is not searched again.
    now.addAndGet(ProgramLocations.REMEMBER_NANOS - 1);
    assertThat(programs.resolve("prog", dir, path)).isEqualTo(late);
    now.addAndGet(1);
    assertThat(programs.resolve("prog", dir, path)).isEqualTo(newer);
    // The search without memory agrees.
    assertThat(ExecutableLookup.resolve("prog", dir, path)).isEqualTo(newer);
  }

  @Test
  void aRemovedOrNoLongerExecutableProgramIsSearchedForAtOnce() throws IOException {
    Path first = executable(dir.resolve("a/prog"));
    Path second = executable(dir.resolve("b/prog"));
    String path = dir.resolve("a") + ":" + dir.resolve("b");
    assertThat(programs.resolve("prog", dir, path)).isEqualTo(first);

    Files.setPosixFilePermissions(first, PosixFilePermissions.fromString("rw-------"));
    assertThat(programs.resolve("prog", dir, path)).isEqualTo(second);

    Files.delete(second);
    assertThat(programs.resolve("prog", dir, path)).isNull();
    executable(second);
    assertThat(programs.resolve("prog", dir, path)).isEqualTo(second);
  }

  @Test
  void relativePathEntriesAreSearchedInEachJobsOwnDirectory() throws IOException {
    Path one = executable(dir.resolve("one/prog"));
    Path other = dir.resolve("other");
    Files.createDirectories(other);
    String path = ":/nonexistent";

    assertThat(programs.resolve("prog", one.getParent(), path))
        .isEqualTo(one.getParent().resolve(".").resolve("prog"));
    assertThat(programs.resolve("prog", other, path)).isNull();
  }

  @Test
  void namesWithASlashAreLookedUpEveryTime() throws IOException {
    Path script = executable(dir.resolve("run.sh"));
    assertThat(programs.resolve("./run.sh", dir, "/usr/bin")).isEqualTo(dir.resolve("./run.sh"));
    Files.delete(script);
    assertThat(programs.resolve("./run.sh", dir, "/usr/bin")).isNull();
  }

  @Test
  void manyDistinctProgramsDoNotGrowWithoutBound() throws IOException {
    Path bin = dir.resolve("bin");
    for (int i = 0; i < ProgramLocations.MAX_ENTRIES + 10; i++) {
      executable(bin.resolve("p" + i));
      assertThat(programs.resolve("p" + i, dir, bin.toString())).isEqualTo(bin.resolve("p" + i));
    }
    assertThat(programs.size()).isLessThanOrEqualTo(ProgramLocations.MAX_ENTRIES);
  }
}
