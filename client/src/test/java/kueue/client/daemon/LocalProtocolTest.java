package kueue.client.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalProtocolTest {
  @Test
  void aRequestArrivesAsItWasSentWithAnyBytesInItsStrings() throws IOException {
    Map<String, String> environment = new LinkedHashMap<>();
    environment.put("PATH", "/usr/bin:/bin");
    environment.put("EMPTY", "");
    environment.put("UNICODE", "é 日本 \u0000 end");
    var request =
        new LocalProtocol.Request(
            "/home/ada/project",
            List.of("cmd", "--wait", "sh", "-c", "echo 'a b'\n"),
            environment,
            true,
            "/dev/pts/4",
            077);

    LocalProtocol.Request received = LocalProtocol.Request.readFrom(input(write(request)));

    assertThat(received).isEqualTo(request);
    assertThat(received.environment().keySet()).containsExactly("PATH", "EMPTY", "UNICODE");
  }

  @Test
  void lengthsBeyondTheLimitAreRefusedBeforeAnythingIsAllocated() throws IOException {
    var bytes = new ByteArrayOutputStream();
    var out = new DataOutputStream(bytes);
    out.writeInt(LocalProtocol.MAGIC);
    out.writeInt(Integer.MAX_VALUE); // the working directory's length

    assertThatThrownBy(() -> LocalProtocol.Request.readFrom(input(bytes.toByteArray())))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("request larger than");

    bytes.reset();
    out.writeInt(LocalProtocol.MAGIC);
    out.writeInt(1);
    out.write('/');
    out.writeInt(Integer.MAX_VALUE); // the number of arguments
    assertThatThrownBy(() -> LocalProtocol.Request.readFrom(input(bytes.toByteArray())))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("request larger than");
  }

  @Test
  void aRequestOfAnotherProgramOrVersionIsRefused() {
    byte[] http = "GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> LocalProtocol.Request.readFrom(input(http)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a request");
  }

  @Test
  void framesLargerThanTheLimitAreRefused() throws IOException {
    var bytes = new ByteArrayOutputStream();
    new DataOutputStream(bytes).writeInt(LocalProtocol.MAX_FRAME_BYTES + 1);

    assertThatThrownBy(() -> LocalProtocol.readPayload(input(bytes.toByteArray())))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("limit");
  }

  private static byte[] write(LocalProtocol.Request request) throws IOException {
    var bytes = new ByteArrayOutputStream();
    request.writeTo(new DataOutputStream(bytes));
    return bytes.toByteArray();
  }

  private static DataInputStream input(byte[] bytes) {
    return new DataInputStream(new ByteArrayInputStream(bytes));
  }
}
