package kueue.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class SecretStrengthTest {

  @Test
  void whatPeopleTypeIsWeak() {
    for (String typed :
        new String[] {
          "Summer2024!",
          "correct horse battery staple",
          "CorrectHorseBatteryStaple2024!!",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "0123456789abcdefghijklmnopqrstuvwxyz",
          "the-shared-secret-of-this-test",
          "qwertyuiopasdfghjkl",
        }) {
      assertThat(SecretStrength.estimateBits(typed)).as(typed).isLessThan(SecretStrength.MIN_BITS);
    }
  }

  @Test
  void randomSecretsOf160BitsOrMorePass() {
    SecureRandom random = new SecureRandom();
    for (int i = 0; i < 200; i++) {
      byte[] bytes32 = new byte[32];
      random.nextBytes(bytes32);
      String base64 = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes32);
      String standardBase64 = Base64.getEncoder().encodeToString(bytes32);
      byte[] bytes20 = new byte[20];
      random.nextBytes(bytes20);
      String hex = HexFormat.of().formatHex(bytes20);
      assertThat(SecretStrength.estimateBits(base64)).as(base64).isGreaterThan(140);
      assertThat(SecretStrength.estimateBits(standardBase64)).as(standardBase64).isGreaterThan(140);
      assertThat(SecretStrength.estimateBits(hex)).as(hex).isGreaterThanOrEqualTo(128);
    }
  }

  @Test
  void theGeneratedTemplateSecretIsFarAboveTheMinimum() {
    for (int i = 0; i < 100; i++) {
      String secret = ConfigTemplate.newSharedSecret();
      assertThat(SecretStrength.estimateBits(secret)).as(secret).isGreaterThan(140);
    }
  }
}
