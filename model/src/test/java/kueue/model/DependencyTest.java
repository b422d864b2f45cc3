package kueue.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class DependencyTest {

  @Test
  void parsesSlurmsFormAndWritesItBack() {
    List<Dependency> parsed = Dependency.parse("afterok:12:13,afterany:14,AFTERNOTOK:15");
    assertThat(parsed)
        .containsExactly(
            new Dependency(DependencyKind.AFTEROK, 12),
            new Dependency(DependencyKind.AFTEROK, 13),
            new Dependency(DependencyKind.AFTERANY, 14),
            new Dependency(DependencyKind.AFTERNOTOK, 15));
    assertThat(Dependency.format(parsed)).isEqualTo("afterok:12:13,afterany:14,afternotok:15");
    assertThat(Dependency.parse(Dependency.format(parsed))).isEqualTo(parsed);
  }

  @Test
  void afterIsAListOfAfterokIds() {
    assertThat(Dependency.parseAfter("3,4"))
        .containsExactly(
            new Dependency(DependencyKind.AFTEROK, 3), new Dependency(DependencyKind.AFTEROK, 4));
  }

  @Test
  void refusesWhatIsNotADependency() {
    assertThatThrownBy(() -> Dependency.parse("after:3")).hasMessageContaining("unknown");
    assertThatThrownBy(() -> Dependency.parse("afterok")).hasMessageContaining("at least one");
    assertThatThrownBy(() -> Dependency.parse("afterok:x")).hasMessageContaining("not a job id");
    assertThatThrownBy(() -> Dependency.parse("afterok:0")).hasMessageContaining("not a job id");
    assertThatThrownBy(() -> Dependency.parseAfter("1,,2")).hasMessageContaining("not a job id");
  }

  @Test
  void kindsSayWhichEndsMeetThem() {
    assertThat(DependencyKind.AFTEROK.metBy(true)).isTrue();
    assertThat(DependencyKind.AFTEROK.metBy(false)).isFalse();
    assertThat(DependencyKind.AFTERANY.metBy(false)).isTrue();
    assertThat(DependencyKind.AFTERNOTOK.metBy(true)).isFalse();
    assertThat(DependencyKind.AFTERNOTOK.metBy(false)).isTrue();
  }
}
