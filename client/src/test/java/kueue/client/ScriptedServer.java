package kueue.client;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import kueue.protocol.FrameReader;
import kueue.protocol.Handshakes;
import kueue.protocol.Message;
import kueue.protocol.MessageCodec;
import kueue.protocol.ServerIdentity;
import kueue.protocol.TransportSecurity;

/**
 * The server side of the protocol with canned answers: does the real handshake on 127.0.0.1 and
 * answers each request with whatever the test's function returns; null hangs up, as a server that
 * goes away would.
 */
final class ScriptedServer implements AutoCloseable {
  private final ServerSocket listener;
  private final String secret;
  private final TransportSecurity transport;
  private final Function<Message.Request, Message> answers;
  private final List<Message.Request> requests = new CopyOnWriteArrayList<>();
  private volatile boolean rejectEveryProof;
  private final Thread acceptor;

  /**
   * The key every scripted server holds unless given another transport; {@link CliHarness} pins it
   * next to the config it writes.
   */
  static final ServerIdentity KEY = ServerIdentity.generate();

  ScriptedServer(String secret, Function<Message.Request, Message> answers) throws IOException {
    this(secret, TransportSecurity.server(KEY), answers);
  }

  ScriptedServer(
      String secret, TransportSecurity transport, Function<Message.Request, Message> answers)
      throws IOException {
    this.secret = secret;
    this.transport = transport;
    this.answers = answers;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.acceptor = Thread.ofVirtual().start(this::acceptLoop);
  }

  int port() {
    return listener.getLocalPort();
  }

  List<Message.Request> requests() {
    return requests;
  }

  /** Proves the secret itself but then claims the client's proof is wrong. */
  ScriptedServer rejectingEveryProof() {
    rejectEveryProof = true;
    return this;
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
      String nonce = Handshakes.newNonce();
      String binding = channel.binding();
      send(out, new Message.Challenge(Message.PROTOCOL_VERSION, nonce));
      byte[] line = reader.next();
      if (line == null) {
        return;
      }
      Message.Authenticate authenticate = (Message.Authenticate) MessageCodec.decode(line);
      String expected = Handshakes.peerProof(secret, hello.role(), hello.nonce(), nonce, binding);
      if (rejectEveryProof || !Handshakes.matches(expected, authenticate.proof())) {
        send(out, new Message.Failure("auth", "authentication failed"));
        return;
      }
      send(
          out,
          new Message.Welcome(
              "scripted server",
              Handshakes.serverProof(secret, hello.role(), hello.nonce(), nonce, binding)));
      while ((line = reader.next()) != null) {
        Message.Request request = (Message.Request) MessageCodec.decode(line);
        requests.add(request);
        Message answer = answers.apply(request);
        if (answer == null) {
          return;
        }
        send(out, answer);
      }
    } catch (Exception connectionEnded) {
      // The client hung up or sent something the script does not expect; the test sees that.
    }
  }

  private static void send(OutputStream out, Message message) throws IOException {
    out.write(MessageCodec.encode(message));
    out.flush();
  }

  @Override
  public void close() throws IOException {
    listener.close();
    acceptor.interrupt();
  }
}
