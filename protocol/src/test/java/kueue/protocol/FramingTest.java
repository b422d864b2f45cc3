package kueue.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import kueue.model.JobSpec;
import kueue.model.JobSpecBuilder;
import org.junit.jupiter.api.Test;

class FramingTest {

  @Test
  void aMessageSurvivesEncodingAndDecodingEvenWithNewlinesInItsStrings() throws Exception {
    JobSpec spec =
        JobSpecBuilder.builder()
            .argv(List.of("sh", "-c", "echo 'a\nb'"))
            .cwd("/tmp")
            .env(Map.of("X", "1\n2"))
            .slots(1)
            .cpus(2)
            .ramMb(512)
            .globalResources(Map.of("genus", 1))
            .stderr("null")
            .build();
    byte[] line = MessageCodec.encode(new Message.Submit(List.of(spec)));

    assertThat(line).containsOnlyOnce('\n');
    assertThat(line[line.length - 1]).isEqualTo((byte) '\n');
    Message decoded = MessageCodec.decode(java.util.Arrays.copyOf(line, line.length - 1));
    assertThat(decoded).isEqualTo(new Message.Submit(List.of(spec)));
  }

  @Test
  void theReaderSplitsConcatenatedMessagesAndReportsACleanEnd() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(MessageCodec.encode(new Message.ShowJob(1)));
    bytes.write(MessageCodec.encode(new Message.ShowJob(2)));
    FrameReader reader = new FrameReader(new ByteArrayInputStream(bytes.toByteArray()));

    assertThat(MessageCodec.decode(reader.next())).isEqualTo(new Message.ShowJob(1));
    assertThat(MessageCodec.decode(reader.next())).isEqualTo(new Message.ShowJob(2));
    assertThat(reader.next()).isNull();
  }

  @Test
  void aMessageLongerThanTheLimitIsRefusedWithoutReadingItAll() {
    // An endless stream without a newline: the reader must give up at the limit.
    InputStream endless =
        new InputStream() {
          @Override
          public int read() {
            return 'x';
          }

          @Override
          public int read(byte[] b, int off, int len) {
            java.util.Arrays.fill(b, off, off + len, (byte) 'x');
            return len;
          }
        };
    FrameReader reader = new FrameReader(endless, 1024);

    assertThatThrownBy(reader::next)
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("longer than 1024");
  }

  @Test
  void aConnectionCutInTheMiddleOfAMessageIsAnError() {
    FrameReader reader =
        new FrameReader(new ByteArrayInputStream("{\"type\":".getBytes(StandardCharsets.UTF_8)));

    assertThatThrownBy(reader::next).isInstanceOf(ProtocolException.class);
  }

  @Test
  void garbageUnknownTypesAndWrongShapesAreProtocolErrors() {
    for (String bad :
        List.of(
            "\u0000\u0001garbage",
            "[1,2]",
            "{\"type\":\"nope\"}",
            "{\"no_type\":1}",
            "{\"type\":\"show_job\",\"id\":\"x\"}",
            "null",
            "")) {
      assertThatThrownBy(() -> MessageCodec.decode(bad.getBytes(StandardCharsets.UTF_8)))
          .as(bad)
          .isInstanceOf(ProtocolException.class);
    }
  }

  @Test
  void deeplyNestedJsonIsRefused() {
    String nested =
        "{\"type\":\"submit\",\"jobs\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}";
    assertThatThrownBy(() -> MessageCodec.decode(nested.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(ProtocolException.class);
  }

  @Test
  void proofsDependOnTheSecretTheNoncesAndTheDirection() {
    String peer = Handshakes.newNonce();
    String server = Handshakes.newNonce();
    String proof = Handshakes.peerProof("s3cret", "client", peer, server);

    assertThat(Handshakes.matches(proof, Handshakes.peerProof("s3cret", "client", peer, server)))
        .isTrue();
    assertThat(Handshakes.matches(proof, Handshakes.peerProof("other", "client", peer, server)))
        .isFalse();
    assertThat(
            Handshakes.matches(
                proof, Handshakes.peerProof("s3cret", "client", Handshakes.newNonce(), server)))
        .isFalse();
    assertThat(Handshakes.matches(proof, Handshakes.peerProof("s3cret", "worker", peer, server)))
        .isFalse();
    assertThat(Handshakes.matches(proof, Handshakes.serverProof("s3cret", "client", peer, server)))
        .isFalse();
    assertThat(Handshakes.matches(proof, null)).isFalse();
  }

  @Test
  void onlyFullSizeNoncesAreAccepted() throws IOException {
    assertThat(Handshakes.isWellFormedNonce(Handshakes.newNonce())).isTrue();
    assertThat(Handshakes.isWellFormedNonce("")).isFalse();
    assertThat(Handshakes.isWellFormedNonce("AAAA")).isFalse();
    assertThat(Handshakes.isWellFormedNonce("not base64!")).isFalse();
    assertThat(Handshakes.isWellFormedNonce(null)).isFalse();
  }
}
