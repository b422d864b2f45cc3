package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class BindingOrderTest {

  @Test
  void theIpv6WildcardIsBoundFirstSoThatItCanServeBothFamilies() {
    assertThat(KueueServer.bindingOrder(List.of("0.0.0.0", "[::]")))
        .containsExactly("[::]", "0.0.0.0");
    assertThat(KueueServer.bindingOrder(List.of("127.0.0.1", "::", "192.0.2.7")))
        .containsExactly("::", "127.0.0.1", "192.0.2.7");
  }

  @Test
  void otherAddressesKeepTheirOrder() {
    assertThat(KueueServer.bindingOrder(List.of("127.0.0.1", "[::1]")))
        .containsExactly("127.0.0.1", "[::1]");
  }
}
