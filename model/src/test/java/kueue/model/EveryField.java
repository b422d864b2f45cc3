package kueue.model;

import java.lang.reflect.Constructor;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Builds a record with every component set to a value that no codec or store would produce by
 * accident (not null, not zero, not empty, and different for each component). A codec or store
 * mapping that forgets a field then reads back something else, so a round trip of this sample fails
 * as soon as a field is added to the record and not to the mapping.
 */
public final class EveryField {
  private EveryField() {}

  /** A JobSpec with every field set. */
  public static JobSpec jobSpec() {
    return of(JobSpec.class);
  }

  public static <R extends Record> R of(Class<R> type) {
    RecordComponent[] components = type.getRecordComponents();
    Object[] values = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      types[i] = components[i].getType();
      values[i] = valueFor(components[i], i + 1);
    }
    try {
      Constructor<R> canonical = type.getDeclaredConstructor(types);
      return canonical.newInstance(values);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot build " + type.getSimpleName(), e);
    }
  }

  /** Names of the components of a record, in declaration order. */
  public static List<String> componentNames(Class<? extends Record> type) {
    return Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName).toList();
  }

  private static Object valueFor(RecordComponent component, int position) {
    String name = component.getName();
    Class<?> raw = component.getType();
    if (raw == String.class) {
      return "/" + name + "-" + position;
    }
    if (raw == int.class || raw == Integer.class) {
      return 100 + position;
    }
    if (raw == long.class || raw == Long.class) {
      return 1_000_000_000_000L + position;
    }
    if (raw == boolean.class || raw == Boolean.class) {
      return true;
    }
    if (raw == double.class || raw == Double.class) {
      return 0.5 + position;
    }
    if (raw == java.time.Instant.class) {
      return java.time.Instant.ofEpochMilli(1_700_000_000_000L + position * 1000L);
    }
    if (raw.isEnum()) {
      Object[] constants = raw.getEnumConstants();
      return constants[constants.length - 1];
    }
    if (raw == List.class && elementTypes(component).equals(List.of(String.class))) {
      return new ArrayList<>(List.of(name + "-first", name + "-second " + position));
    }
    if (raw == List.class && elementTypes(component).equals(List.of(Dependency.class))) {
      return new ArrayList<>(
          List.of(
              new Dependency(DependencyKind.AFTEROK, 10_000L + position),
              new Dependency(DependencyKind.AFTERNOTOK, 20_000L + position)));
    }
    if (raw == Map.class && elementTypes(component).equals(List.of(String.class, String.class))) {
      return Map.of(name.toUpperCase() + "_A", "a " + position, name.toUpperCase() + "_B", "");
    }
    if (raw == Map.class && elementTypes(component).equals(List.of(String.class, Integer.class))) {
      return Map.of(name + "-license", position, name + "-other", 2);
    }
    if (raw == Map.class && elementTypes(component).equals(List.of(String.class, Double.class))) {
      return Map.of(name + "-device", 0.25, name + "-other", (double) position);
    }
    throw new IllegalArgumentException(
        "EveryField has no sample value for "
            + component.getGenericType().getTypeName()
            + " "
            + name
            + ": add one here, then make every codec and store carry the new field");
  }

  private static List<Class<?>> elementTypes(RecordComponent component) {
    Type generic = component.getGenericType();
    if (!(generic instanceof ParameterizedType parameterized)) {
      return List.of();
    }
    List<Class<?>> types = new ArrayList<>();
    for (Type argument : parameterized.getActualTypeArguments()) {
      if (!(argument instanceof Class<?> element)) {
        return List.of();
      }
      types.add(element);
    }
    return types;
  }
}
