package kueue.model;

/**
 * A global resource from {@code [global_resources]}: how many units running jobs hold of the total.
 */
public record ResourceUsage(String name, int used, int total) {}
