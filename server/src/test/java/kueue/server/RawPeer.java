package kueue.server;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import kueue.protocol.FrameReader;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ProtocolException;
import kueue.protocol.TransportSecurity;

/**
 * A connection that sends whatever the test says, message by message, without the checks of {@link
 * kueue.protocol.PeerConnection}: the tool of a test playing an attacker.
 */
final class RawPeer implements AutoCloseable {
  final TransportSecurity.Channel channel;
  private final FrameReader reader;
  private final OutputStream out;

  RawPeer(TransportSecurity.Channel channel) {
    this.channel = channel;
    this.reader = new FrameReader(channel.input());
    this.out = channel.output();
  }

  /** TLS to the server, checking its key against the pin file as a real client would. */
  static RawPeer tls(int port, java.nio.file.Path pin) throws IOException, ProtocolException {
    Socket socket = connect(port);
    return new RawPeer(TransportSecurity.client(pin).connect(socket, "127.0.0.1", port));
  }

  /**
   * TLS that accepts any server certificate: what someone without the secret can do. The server
   * does not authenticate clients in TLS, so this works; only the Kueue handshake keeps them out.
   */
  static RawPeer tlsTrustingAnyServer(int port) throws Exception {
    SSLContext context = SSLContext.getInstance("TLSv1.3");
    context.init(null, new TrustManager[] {new TrustAnyone()}, new SecureRandom());
    SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket(connect(port), "127.0.0.1", port, true);
    socket.startHandshake();
    return new RawPeer(
        new TransportSecurity.Channel(
            socket, socket.getInputStream(), socket.getOutputStream(), "unknown"));
  }

  static RawPeer plain(int port) throws IOException {
    Socket socket = connect(port);
    return new RawPeer(
        new TransportSecurity.Channel(
            socket, socket.getInputStream(), socket.getOutputStream(), "none"));
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(15_000);
    return socket;
  }

  synchronized void send(Message message) throws IOException {
    out.write(MessageCodec.encode(message));
    out.flush();
  }

  /** The next message as the server wrote it, or null once the server closed the connection. */
  byte[] nextLine() throws IOException, ProtocolException {
    return reader.next();
  }

  /** The next message, or null once the server closed the connection. */
  Message receive() throws IOException, ProtocolException {
    byte[] line;
    try {
      line = reader.next();
    } catch (javax.net.ssl.SSLException | java.net.SocketException closedWithoutGoodbye) {
      return null;
    }
    return line == null ? null : MessageCodec.decode(line);
  }

  /**
   * The next message of this type, passing over others (heartbeats, acknowledgements); fails the
   * test if the connection closes first.
   */
  <T extends Message> T receiveNext(Class<T> type) throws IOException, ProtocolException {
    while (true) {
      Message message = receive();
      if (message == null) {
        throw new AssertionError("the connection closed before a " + type.getSimpleName());
      }
      if (type.isInstance(message)) {
        return type.cast(message);
      }
    }
  }

  @Override
  public void close() throws IOException {
    channel.socket().close();
  }

  private static final class TrustAnyone implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
