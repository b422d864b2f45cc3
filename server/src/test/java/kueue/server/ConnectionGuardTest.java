package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConnectionGuardTest {

  @Test
  void connectionsGetThreeQuartersOfTheDescriptorsFreeAtStart() {
    ConnectionGuard.Limits limits = ConnectionGuard.Limits.forDescriptors(1024, 104);

    assertThat(limits.maxConnections()).isEqualTo(690);
    assertThat(limits.maxPerAddress()).isEqualTo(172);
    assertThat(limits.maxUnauthenticatedPerNetwork()).isEqualTo(345);
  }

  @Test
  void aHighOrUnknownDescriptorLimitStillCapsConnections() {
    assertThat(ConnectionGuard.Limits.forDescriptors(1_048_576, 90).maxConnections())
        .isEqualTo(ConnectionGuard.Limits.MOST_CONNECTIONS);
    assertThat(ConnectionGuard.Limits.forDescriptors(-1, -1).maxConnections())
        .isEqualTo(ConnectionGuard.Limits.MOST_CONNECTIONS);
    assertThat(ConnectionGuard.Limits.forDescriptors(64, 60).maxConnections()).isEqualTo(16);
  }

  @Test
  void theSoftLimitIsReadFromProcLimits() {
    String limits =
        """
        Limit                     Soft Limit           Hard Limit           Units
        Max processes             127573               127573               processes
        Max open files            1024                 524288               files
        Max locked memory         8388608              8388608              bytes
        """;

    assertThat(DescriptorLimit.parseSoftLimit(limits)).isEqualTo(1024);
    assertThat(
            DescriptorLimit.parseSoftLimit(
                "Max open files            unlimited            unlimited            files\n"))
        .isEqualTo(-1);
    assertThat(DescriptorLimit.soft()).as("this process's own").isPositive();
  }

  @Test
  void networksAreSlash24ForIpv4AndSlash64ForIpv6() throws Exception {
    assertThat(network("192.0.2.7")).isEqualTo(network("192.0.2.200"));
    assertThat(network("192.0.2.7")).isNotEqualTo(network("192.0.3.7"));
    assertThat(network("::ffff:192.0.2.9")).isEqualTo(network("192.0.2.7"));
    assertThat(network("2001:db8:1:2::1")).isEqualTo(network("2001:db8:1:2:ffff::9"));
    assertThat(network("2001:db8:1:2::1")).isNotEqualTo(network("2001:db8:1:3::1"));
  }

  @Test
  void aRandomSetHandsOutEveryMemberAndForgetsRemovedOnes() {
    ConnectionGuard.RandomSet<Integer> set = new ConnectionGuard.RandomSet<>();
    for (int i = 0; i < 10; i++) {
      set.add(i);
    }
    set.add(3);
    assertThat(set.remove(3)).isTrue();
    assertThat(set.remove(3)).isFalse();
    assertThat(set.remove(9)).isTrue();

    Random random = new Random(1);
    Set<Integer> picked = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      picked.add(set.pick(random));
    }

    assertThat(set.size()).isEqualTo(8);
    assertThat(picked).containsExactlyInAnyOrder(0, 1, 2, 4, 5, 6, 7, 8);
  }

  private static ConnectionGuard.Network network(String address) throws Exception {
    return ConnectionGuard.Network.of(InetAddress.getByName(address));
  }
}
