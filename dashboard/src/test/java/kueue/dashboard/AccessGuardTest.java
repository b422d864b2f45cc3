package kueue.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class AccessGuardTest {
  private static final String TOKEN = "the-access-token";
  private static final String CSRF = "the-csrf-token";
  private static final String COOKIE = "kueue_dashboard_8080=" + TOKEN;

  private final AccessGuard loopback =
      new AccessGuard(TOKEN, CSRF, InetAddress.getLoopbackAddress(), 8080);

  @Test
  void theTokenInTheQuerySetsTheCookieAndTheCookieAloneLetsIn() {
    assertThat(loopback.check("127.0.0.1:8080", TOKEN, null, false, null, null))
        .isEqualTo(AccessGuard.Verdict.ALLOW_AND_SET_COOKIE);
    assertThat(loopback.check("localhost:8080", null, "a=b; " + COOKIE, false, null, null))
        .isEqualTo(AccessGuard.Verdict.ALLOW);
    assertThat(loopback.cookie()).contains("HttpOnly").contains("SameSite=Strict");
  }

  @Test
  void noTokenOrAWrongOneIsRefused() {
    assertThat(loopback.check("127.0.0.1:8080", null, null, false, null, null))
        .isEqualTo(AccessGuard.Verdict.NO_TOKEN);
    assertThat(loopback.check("127.0.0.1:8080", "the-access-toke", null, false, null, null))
        .isEqualTo(AccessGuard.Verdict.NO_TOKEN);
    assertThat(
            loopback.check("127.0.0.1:8080", null, "kueue_dashboard_9=" + TOKEN, false, null, null))
        .as("another dashboard's cookie")
        .isEqualTo(AccessGuard.Verdict.NO_TOKEN);
  }

  @Test
  void aHostThatIsNotALoopbackNameIsRefusedWhateverItsPort() {
    assertThat(loopback.check("evil.example:8080", TOKEN, COOKIE, false, null, null))
        .isEqualTo(AccessGuard.Verdict.WRONG_HOST);
    assertThat(loopback.check(null, TOKEN, COOKIE, false, null, null))
        .isEqualTo(AccessGuard.Verdict.WRONG_HOST);
    assertThat(loopback.check("[::1]:9999", null, COOKIE, false, null, null))
        .as("through ssh -L the port is the tunnel's")
        .isEqualTo(AccessGuard.Verdict.ALLOW);
  }

  @Test
  void anActionNeedsTheCsrfTokenAndItsOwnOrigin() {
    assertThat(loopback.check("127.0.0.1:8080", null, COOKIE, true, null, null))
        .isEqualTo(AccessGuard.Verdict.FORGED);
    assertThat(loopback.check("127.0.0.1:8080", null, COOKIE, true, "wrong", null))
        .isEqualTo(AccessGuard.Verdict.FORGED);
    assertThat(
            loopback.check("127.0.0.1:8080", null, COOKIE, true, CSRF, "http://evil.example:8080"))
        .isEqualTo(AccessGuard.Verdict.FORGED);
    assertThat(loopback.check("127.0.0.1:8080", null, COOKIE, true, CSRF, "null"))
        .isEqualTo(AccessGuard.Verdict.FORGED);
    assertThat(loopback.check("127.0.0.1:8080", null, COOKIE, true, CSRF, "http://127.0.0.1:8080"))
        .isEqualTo(AccessGuard.Verdict.ALLOW);
  }

  @Test
  void aRemoteBindAlsoAnswersToItsOwnAddress() throws Exception {
    AccessGuard remote =
        new AccessGuard(TOKEN, CSRF, InetAddress.getByAddress(new byte[] {10, 1, 2, 3}), 8080);

    assertThat(remote.check("10.1.2.3:8080", null, COOKIE, false, null, null))
        .isEqualTo(AccessGuard.Verdict.ALLOW);
    assertThat(remote.check("10.1.2.4:8080", null, COOKIE, false, null, null))
        .isEqualTo(AccessGuard.Verdict.WRONG_HOST);
  }

  @Test
  void queryParametersAreDecodedAndTokensAreRandom() {
    assertThat(AccessGuard.queryParameters("text=a%20b&state=PENDING&text=c"))
        .containsEntry("text", "a b")
        .containsEntry("state", "PENDING");
    var random = new java.security.SecureRandom();
    assertThat(AccessGuard.randomToken(random))
        .hasSize(32)
        .isNotEqualTo(AccessGuard.randomToken(random));
  }
}
