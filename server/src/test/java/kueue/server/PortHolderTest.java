package kueue.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class PortHolderTest {
  /**
   * Two listeners (port 11236 = 0x2BE4, one of uid 1001) and a connected socket, as Linux lists
   * them.
   */
  private static final String PROC_NET_TCP =
      """
        sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
         0: 00000000:2BE4 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1001        0 424242 1 0000000000000000 100 0 0 10 0
         1: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
         2: 0100007F:2BE4 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 2222 1 0000000000000000 20 4 30 10 -1
      """;

  @Test
  void findsTheListenerOnThePortAndNotConnectionsFromIt() {
    assertThat(PortHolder.listeners(PROC_NET_TCP, 11236))
        .containsExactly(new PortHolder.Listener(1001, 424242));
    assertThat(PortHolder.listeners(PROC_NET_TCP, 22)).hasSize(1);
    assertThat(PortHolder.listeners(PROC_NET_TCP, 80)).isEmpty();
  }

  @Test
  void namesTheUserFromThePasswordFile() {
    String passwd = "root:x:0:0:root:/root:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n";

    assertThat(PortHolder.userName(passwd, 1001)).isEqualTo("bob");
    assertThat(PortHolder.userName(passwd, 4242)).isNull();
  }

  @Test
  void aPortHeldByThisProcessIsNamedAsOneOfYourOwn() throws Exception {
    try (ServerSocket held = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      assertThat(PortHolder.describe(held.getLocalPort()))
          .startsWith("port " + held.getLocalPort() + " is held by one of your own processes")
          .contains("pid " + ProcessHandle.current().pid())
          .contains("is a kueue_server already running?");
    }
  }
}
