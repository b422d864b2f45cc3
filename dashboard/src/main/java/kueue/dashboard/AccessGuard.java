package kueue.dashboard;

import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Who may see the dashboard and act through it: the decisions only, no I/O, so every rule is tested
 * directly.
 *
 * <ul>
 *   <li>Every request carries the access token: in the query of the first one (the address the
 *       command printed), in a cookie after that. Compared in constant time.
 *   <li>The Host header must name this dashboard (a loopback name or the bound address), so that a
 *       page of another site whose name resolves to 127.0.0.1 (DNS rebinding) cannot talk to it as
 *       its own origin. Any port: through {@code ssh -L} the browser's port is the tunnel's.
 *   <li>Actions are POSTs that carry the page's CSRF token in a header, which another site cannot
 *       set without the browser asking us first (we never allow it), and whose Origin, when the
 *       browser sends one, is this dashboard.
 * </ul>
 */
final class AccessGuard {
  static final String CSRF_HEADER = "X-Kueue-Csrf";

  private final String token;
  private final String csrfToken;
  private final String cookieName;
  private final Set<String> allowedHosts;

  /**
   * @param bindAddress the address the dashboard listens on
   * @param port the port it listens on, which names its cookie
   */
  AccessGuard(String token, String csrfToken, InetAddress bindAddress, int port) {
    this.token = token;
    this.csrfToken = csrfToken;
    // Cookies are per host, not per port: two dashboards on one machine must not mix.
    this.cookieName = "kueue_dashboard_" + port;
    Set<String> hosts = new HashSet<>(List.of("localhost", "127.0.0.1", "[::1]"));
    if (!bindAddress.isAnyLocalAddress() && !bindAddress.isLoopbackAddress()) {
      String literal = bindAddress.getHostAddress();
      hosts.add(literal.contains(":") ? "[" + literal + "]" : literal);
      hosts.add(bindAddress.getHostName().toLowerCase(Locale.ROOT));
    }
    this.allowedHosts = Set.copyOf(hosts);
  }

  /** A random token of 192 bits, URL-safe. */
  static String randomToken(SecureRandom random) {
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  String token() {
    return token;
  }

  String csrfToken() {
    return csrfToken;
  }

  String cookieName() {
    return cookieName;
  }

  /** The Set-Cookie value that lets later requests in without the query token. */
  String cookie() {
    return cookieName + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  }

  /** What to do with one request. */
  enum Verdict {
    /** Serve it. */
    ALLOW,
    /** Serve it, setting the cookie (the token came in the query). */
    ALLOW_AND_SET_COOKIE,
    /** Host header not ours. */
    WRONG_HOST,
    /** No token or a wrong one. */
    NO_TOKEN,
    /** An action without the CSRF token or from another origin. */
    FORGED
  }

  /**
   * @param host the Host header, or null
   * @param queryToken the token in the query string, or null
   * @param cookieHeader the Cookie header, or null
   * @param action whether the request changes something (POST)
   * @param csrfHeader the {@link #CSRF_HEADER} header, or null
   * @param origin the Origin header, or null
   */
  Verdict check(
      String host,
      String queryToken,
      String cookieHeader,
      boolean action,
      String csrfHeader,
      String origin) {
    if (host == null || !allowedHosts.contains(hostName(host))) {
      return Verdict.WRONG_HOST;
    }
    boolean byQuery = queryToken != null && sameSecret(queryToken, token);
    String fromCookie = cookieValue(cookieHeader, cookieName);
    boolean byCookie = fromCookie != null && sameSecret(fromCookie, token);
    if (!byQuery && !byCookie) {
      return Verdict.NO_TOKEN;
    }
    if (action) {
      if (csrfHeader == null || !sameSecret(csrfHeader, csrfToken)) {
        return Verdict.FORGED;
      }
      if (origin != null && !sameOrigin(origin, host)) {
        return Verdict.FORGED;
      }
    }
    return byQuery && !byCookie ? Verdict.ALLOW_AND_SET_COOKIE : Verdict.ALLOW;
  }

  /** The name of a Host header without its port, lower case; IPv6 literals keep brackets. */
  static String hostName(String host) {
    String lower = host.trim().toLowerCase(Locale.ROOT);
    int colon = lower.lastIndexOf(':');
    if (colon > lower.lastIndexOf(']')) {
      return lower.substring(0, colon);
    }
    return lower;
  }

  private static boolean sameOrigin(String origin, String host) {
    try {
      URI uri = URI.create(origin);
      String authority = uri.getRawAuthority();
      return "http".equals(uri.getScheme())
          && authority != null
          && authority.equalsIgnoreCase(host);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Constant time in the length of the expected value, whatever the given one is. */
  static boolean sameSecret(String given, String expected) {
    return MessageDigest.isEqual(
        given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }

  static String cookieValue(String cookieHeader, String name) {
    if (cookieHeader == null) {
      return null;
    }
    for (String part : cookieHeader.split(";")) {
      int equals = part.indexOf('=');
      if (equals > 0 && part.substring(0, equals).trim().equals(name)) {
        return part.substring(equals + 1).trim();
      }
    }
    return null;
  }

  /** The decoded parameters of a query string; a repeated name keeps its first value. */
  static Map<String, String> queryParameters(String rawQuery) {
    Map<String, String> parameters = new java.util.LinkedHashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return parameters;
    }
    for (String pair : rawQuery.split("&")) {
      int equals = pair.indexOf('=');
      String name = equals < 0 ? pair : pair.substring(0, equals);
      String value = equals < 0 ? "" : pair.substring(equals + 1);
      parameters.putIfAbsent(
          java.net.URLDecoder.decode(name, StandardCharsets.UTF_8),
          java.net.URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return parameters;
  }
}
