package kueue.protocol;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The server's side of transport setup and handshake on 127.0.0.1, as small as possible: each
 * outcome (a channel binding, or the exception that ended the connection) is queued for the test.
 */
final class HandshakeServer implements AutoCloseable {
  private final ServerSocket listener;
  private final TransportSecurity transport;
  private final String secret;
  private final boolean acceptAnyProof;
  final BlockingQueue<Object> outcomes = new LinkedBlockingQueue<>();

  /** Every message the peers sent, in order, for tests that check what reached the server. */
  final BlockingQueue<Message> received = new LinkedBlockingQueue<>();

  HandshakeServer(TransportSecurity transport, String secret) throws IOException {
    this(transport, secret, false);
  }

  /**
   * @param acceptAnyProof welcome peers whatever they prove, as a server that does not know the
   *     secret would have to
   */
  HandshakeServer(TransportSecurity transport, String secret, boolean acceptAnyProof)
      throws IOException {
    this.transport = transport;
    this.secret = secret;
    this.acceptAnyProof = acceptAnyProof;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(this::acceptLoop);
  }

  int port() {
    return listener.getLocalPort();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket socket = listener.accept();
        Thread.ofVirtual().start(() -> serve(socket));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket) {
      TransportSecurity.Channel channel = transport.accept(socket);
      FrameReader reader = new FrameReader(channel.input());
      OutputStream out = channel.output();
      Message.Hello hello = (Message.Hello) MessageCodec.decode(reader.next());
      received.add(hello);
      String nonce = Handshakes.newNonce();
      String binding = channel.binding();
      out.write(MessageCodec.encode(new Message.Challenge(Message.PROTOCOL_VERSION, nonce)));
      out.flush();
      Message.Authenticate authenticate = (Message.Authenticate) MessageCodec.decode(reader.next());
      received.add(authenticate);
      if (!acceptAnyProof
          && !Handshakes.matches(
              Handshakes.peerProof(secret, hello.role(), hello.nonce(), nonce, binding),
              authenticate.proof())) {
        out.write(MessageCodec.encode(new Message.Failure("auth", "authentication failed")));
        out.flush();
        outcomes.add("refused");
        return;
      }
      out.write(
          MessageCodec.encode(
              new Message.Welcome(
                  "handshake server",
                  Handshakes.serverProof(secret, hello.role(), hello.nonce(), nonce, binding))));
      out.flush();
      outcomes.add(binding);
      byte[] line;
      while ((line = reader.next()) != null) {
        out.write(line);
        out.write('\n');
        out.flush();
      }
    } catch (Exception e) {
      outcomes.add(e);
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
  }
}
