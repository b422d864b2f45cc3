package kueue.protocol;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * The client's or worker's end of one connection: connects (over TLS unless the configuration
 * turned encryption off, to the server holding the pinned key), proves the secret and checks the
 * server's proof before anything else is exchanged, then sends and receives messages. Sending is
 * thread-safe; receiving is meant for one reader thread.
 */
public final class PeerConnection implements Closeable {
  private final Socket socket;

  /** The TCP socket under {@link #socket}, which is the TLS socket when encrypted. */
  private Socket tcpSocket;

  private final FrameReader reader;
  private final OutputStream out;
  private final String channelBinding;
  private final boolean encrypted;
  private final Object writeLock = new Object();

  private PeerConnection(TransportSecurity.Channel channel) {
    this.socket = channel.socket();
    this.reader = new FrameReader(channel.input());
    this.out = new BufferedOutputStream(channel.output(), 8192);
    this.channelBinding = channel.binding();
    this.encrypted = channel.encrypted();
  }

  /**
   * Opens an authenticated connection.
   *
   * @param role "client" or "worker"
   * @param transport TLS, or none when the configuration says so; must match the server's
   * @throws AuthenticationException if either side's proof is wrong
   * @throws ServerKeyException if the server's key is not the pinned one, or none is pinned
   * @throws EncryptionMismatchException if one side uses TLS and the other not
   * @throws IOException if the server cannot be reached
   */
  public static PeerConnection open(
      String host,
      int port,
      String secret,
      String role,
      String software,
      Duration connectTimeout,
      TransportSecurity transport)
      throws IOException, ProtocolException {
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), (int) connectTimeout.toMillis());
      socket.setSoTimeout((int) Math.max(1, connectTimeout.toMillis()));
      PeerConnection connection = new PeerConnection(transport.connect(socket, host, port));
      connection.tcpSocket = socket;
      connection.authenticate(secret, role, software);
      return connection;
    } catch (IOException | ProtocolException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }

  /**
   * Whether a connection that carried no request for a while can carry another: the peer sends
   * nothing unasked, so anything that arrived meanwhile (a TLS close alert, the end of the stream
   * after a restart) means it is closed. Waits up to a millisecond for that to show. A request is
   * never retried on another connection, since the server may have acted on it; this check is what
   * keeps reused connections from failing requests after the server went away.
   */
  public boolean stillOpenWhileIdle() {
    Socket tcp = tcpSocket == null ? socket : tcpSocket;
    if (tcp.isClosed()) {
      return false;
    }
    try {
      int timeout = tcp.getSoTimeout();
      tcp.setSoTimeout(1);
      try {
        tcp.getInputStream().read();
        return false;
      } catch (SocketTimeoutException quiet) {
        return true;
      } finally {
        tcp.setSoTimeout(timeout);
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** False only when the configuration turned encryption off. */
  public boolean encrypted() {
    return encrypted;
  }

  private void authenticate(String secret, String role, String software)
      throws IOException, ProtocolException {
    String nonce = Handshakes.newNonce();
    send(new Message.Hello(Message.PROTOCOL_VERSION, role, nonce, software));
    Message first = receive();
    if (first instanceof Message.Failure failure) {
      if (TransportSecurity.ENCRYPTION_REQUIRED_CODE.equals(failure.code())) {
        throw new EncryptionMismatchException(failure.message());
      }
      throw new AuthenticationException(failure.message());
    }
    if (!(first instanceof Message.Challenge challenge)) {
      throw new ProtocolException("expected a challenge from the server, got " + describe(first));
    }
    if (challenge.protocol() != Message.PROTOCOL_VERSION) {
      throw new ProtocolException(
          "server speaks protocol "
              + challenge.protocol()
              + ", this program "
              + Message.PROTOCOL_VERSION);
    }
    if (!Handshakes.isWellFormedNonce(challenge.nonce())) {
      throw new ProtocolException("the server sent a malformed nonce");
    }
    // This side proves the secret first, and only over a channel to the pinned server: nothing
    // derived from the secret reaches anyone who does not hold the server's private key.
    send(
        new Message.Authenticate(
            Handshakes.peerProof(secret, role, nonce, challenge.nonce(), channelBinding)));
    Message answer = receive();
    if (answer instanceof Message.Failure failure) {
      throw new AuthenticationException(failure.message());
    }
    if (!(answer instanceof Message.Welcome welcome)) {
      throw new ProtocolException("expected welcome from the server, got " + describe(answer));
    }
    if (!Handshakes.matches(
        Handshakes.serverProof(secret, role, nonce, challenge.nonce(), channelBinding),
        welcome.proof())) {
      throw new AuthenticationException(
          "the server could not prove it knows the shared secret (different shared_secret, or not"
              + " a Kueue server)");
    }
    socket.setSoTimeout(0);
  }

  public void send(Message message) throws IOException {
    byte[] line = MessageCodec.encode(message);
    synchronized (writeLock) {
      out.write(line);
      out.flush();
    }
  }

  /** Sends the messages in order in one write, so that the peer reads them together. */
  public void sendAll(java.util.List<? extends Message> messages) throws IOException {
    java.util.List<byte[]> lines = new java.util.ArrayList<>(messages.size());
    for (Message message : messages) {
      lines.add(MessageCodec.encode(message));
    }
    synchronized (writeLock) {
      for (byte[] line : lines) {
        out.write(line);
      }
      out.flush();
    }
  }

  /** The next message; throws on a closed connection, so callers need no null checks. */
  public Message receive() throws IOException, ProtocolException {
    byte[] line;
    try {
      line = reader.next();
    } catch (SocketTimeoutException e) {
      throw new ProtocolException("the server did not answer in time", e);
    }
    if (line == null) {
      throw new ConnectionClosedException("the server closed the connection");
    }
    return MessageCodec.decode(line);
  }

  /** Sets how long {@link #receive()} may block; zero means forever. */
  public void setReceiveTimeout(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
  }

  private static String describe(Message message) {
    return message.getClass().getSimpleName();
  }

  /** Either side failed to prove it knows the shared secret, or the server is not trusted. */
  public static class AuthenticationException extends ProtocolException {
    public AuthenticationException(String message) {
      super(message);
    }
  }

  /** The server went away. */
  public static final class ConnectionClosedException extends IOException {
    public ConnectionClosedException(String message) {
      super(message);
    }
  }
}
