package kueue.config;

/** The version every program reports with --version and sends in its first protocol message. */
public final class KueueVersion {
  public static final String VERSION = "0.1.0";

  private KueueVersion() {}
}
