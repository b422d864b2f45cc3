package kueue.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import kueue.protocol.TransportSecurity;

/**
 * A man in the middle on 127.0.0.1: accepts connections meant for the server, opens its own to the
 * server and copies everything both ways, keeping a copy of what it saw. Either it just forwards
 * the bytes, or it ends TLS on each side with keys of the test's choosing and so sees plain text.
 */
final class LoopbackRelay implements AutoCloseable {
  /** How the relay sets up each of its two connections. */
  interface Ends {
    TransportSecurity.Channel towardClient(Socket accepted) throws Exception;

    TransportSecurity.Channel towardServer(Socket connected, int port) throws Exception;
  }

  private final ServerSocket listener;
  private final int serverPort;
  private final Ends ends;
  private final ByteArrayOutputStream fromClients = new ByteArrayOutputStream();
  private final ByteArrayOutputStream fromServer = new ByteArrayOutputStream();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  final List<Exception> failures = new CopyOnWriteArrayList<>();

  private LoopbackRelay(int serverPort, Ends ends) throws IOException {
    this.serverPort = serverPort;
    this.ends = ends;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(this::acceptLoop);
  }

  /** Copies bytes without understanding them, as anyone on the network path can. */
  static LoopbackRelay forwardingBytes(int serverPort) throws IOException {
    return new LoopbackRelay(
        serverPort,
        new Ends() {
          @Override
          public TransportSecurity.Channel towardClient(Socket accepted) throws Exception {
            return TransportSecurity.none().connect(accepted, "client", 0);
          }

          @Override
          public TransportSecurity.Channel towardServer(Socket connected, int port)
              throws Exception {
            return TransportSecurity.none().connect(connected, "127.0.0.1", port);
          }
        });
  }

  /**
   * Ends TLS toward the client as a server with {@code towardClient}'s key, and toward the server
   * as a client with {@code towardServer}.
   */
  static LoopbackRelay terminatingTls(TransportSecurity towardClient, TransportSecurity towardServer,
      int serverPort) throws IOException {
    return new LoopbackRelay(
        serverPort,
        new Ends() {
          @Override
          public TransportSecurity.Channel towardClient(Socket accepted) throws Exception {
            return towardClient.accept(accepted);
          }

          @Override
          public TransportSecurity.Channel towardServer(Socket connected, int port)
              throws Exception {
            return towardServer.connect(connected, "127.0.0.1", port);
          }
        });
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Everything clients sent, as the relay saw it, over all connections so far. */
  byte[] fromClients() {
    synchronized (fromClients) {
      return fromClients.toByteArray();
    }
  }

  /** Everything both directions carried, as the relay saw it. */
  byte[] seen() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    synchronized (fromClients) {
      all.writeBytes(fromClients.toByteArray());
    }
    synchronized (fromServer) {
      all.writeBytes(fromServer.toByteArray());
    }
    return all.toByteArray();
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        sockets.add(client);
        Thread.ofVirtual().start(() -> relay(client));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void relay(Socket client) {
    try {
      TransportSecurity.Channel clientSide = ends.towardClient(client);
      Socket server = new Socket(InetAddress.getLoopbackAddress(), serverPort);
      sockets.add(server);
      TransportSecurity.Channel serverSide = ends.towardServer(server, serverPort);
      Thread.ofVirtual()
          .start(() -> copy(serverSide.input(), clientSide.output(), fromServer, client, server));
      copy(clientSide.input(), serverSide.output(), fromClients, client, server);
    } catch (Exception e) {
      failures.add(e);
      closeQuietly(client);
    }
  }

  private static void copy(
      InputStream in, OutputStream out, ByteArrayOutputStream record, Socket a, Socket b) {
    byte[] buffer = new byte[8192];
    try {
      int read;
      while ((read = in.read(buffer)) > 0) {
        synchronized (record) {
          record.write(buffer, 0, read);
        }
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException connectionEnded) {
      // one side hung up: the relay hangs up the other
    } finally {
      closeQuietly(a);
      closeQuietly(b);
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    listener.close();
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
  }
}
