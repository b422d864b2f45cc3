package kueue.worker;

import java.util.Locale;

/**
 * One entry of [restart_workers] hostnames: {@code host}, {@code host:port} or {@code [ipv6]:port}.
 * The port lets a host run its SSH server elsewhere than on 22.
 */
record HostAddress(String text, String host, int port) {
  static final int SSH_PORT = 22;

  static HostAddress parse(String text) {
    String host = text;
    String port = null;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close < 0 || (close + 1 < text.length() && text.charAt(close + 1) != ':')) {
        throw new IllegalArgumentException(
            "\"" + text + "\" is not a host name: write [address]:port for an IPv6 address");
      }
      host = text.substring(1, close);
      port = close + 1 < text.length() ? text.substring(close + 2) : null;
    } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) {
      host = text.substring(0, text.indexOf(':'));
      port = text.substring(text.indexOf(':') + 1);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException("\"" + text + "\" has no host name");
    }
    if (port == null) {
      return new HostAddress(text, host, SSH_PORT);
    }
    try {
      int number = Integer.parseInt(port);
      if (number >= 1 && number <= 65535) {
        return new HostAddress(text, host, number);
      }
    } catch (NumberFormatException e) {
      // reported below like a port out of range
    }
    throw new IllegalArgumentException(
        "\"" + text + "\" has an invalid port: expected host or host:port with a port 1..65535");
  }

  /**
   * The name a worker from this host reports, for comparing with another such name: lower case,
   * without the domain, since a host is often configured as "ralab04" while it calls itself
   * "ralab04.example.org" or the other way round. Addresses stay whole.
   */
  static String machineName(String name) {
    String lower = name.strip().toLowerCase(Locale.ROOT);
    boolean address = lower.indexOf(':') >= 0 || lower.matches("[0-9.]+");
    int dot = lower.indexOf('.');
    return address || dot <= 0 ? lower : lower.substring(0, dot);
  }

  @Override
  public String toString() {
    return text;
  }
}
