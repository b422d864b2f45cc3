package kueue.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.RecordComponent;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EveryFieldTest {

  @Test
  void everyComponentOfTheSampleSpecIsSetAndDistinct() throws Exception {
    JobSpec spec = EveryField.jobSpec();
    Set<Object> seen = new HashSet<>();
    for (RecordComponent component : JobSpec.class.getRecordComponents()) {
      Object value = component.getAccessor().invoke(spec);
      assertThat(value).as(component.getName()).isNotNull();
      // A flag has one value besides its default: every flag of the sample is true.
      if (!(value instanceof Boolean)) {
        assertThat(seen.add(value)).as(component.getName() + " differs from the others").isTrue();
      }
    }
  }

  @Test
  void aJobsOwnSpecKeepsEveryFieldItDoesNotSet() {
    JobSpec spec = EveryField.jobSpec();
    JobSpec forJob = spec.forJob(7, spec.argv(), spec.batch(), spec.arrayIndex());
    assertThat(forJob).isEqualTo(spec);
  }
}
