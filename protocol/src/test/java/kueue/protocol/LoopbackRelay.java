package kueue.protocol;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A man in the middle on 127.0.0.1, for the tests of every module that need one: accepts
 * connections meant for the server, opens its own to the server and copies everything both ways,
 * keeping a copy of what it saw. Either it just forwards the bytes, or it ends TLS on each side
 * with keys of the test's choosing and so sees plain text.
 *
 * <p>The test also controls the network in between: {@link #freeze()} stops every byte in both
 * directions while the connections stay open (a cable pulled somewhere in between: nobody is told
 * anything), {@link #cut()} closes the connections (both ends notice at once), {@link #resume()}
 * lets traffic flow again. While frozen, new connections are accepted but not forwarded either, and
 * a side that hangs up is not heard by the other one until the network is back.
 */
public final class LoopbackRelay implements AutoCloseable {
  /** How the relay sets up each of its two connections. */
  public interface Ends {
    TransportSecurity.Channel towardClient(Socket accepted) throws Exception;

    TransportSecurity.Channel towardServer(Socket connected, int port) throws Exception;
  }

  private final ServerSocket listener;
  private final int serverPort;
  private final Ends ends;
  private final ByteArrayOutputStream fromClients = new ByteArrayOutputStream();
  private final ByteArrayOutputStream fromServer = new ByteArrayOutputStream();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean frozen;

  /** What went wrong while setting up a relayed connection (a failed TLS handshake). */
  public final List<Exception> failures = new CopyOnWriteArrayList<>();

  private LoopbackRelay(int serverPort, Ends ends) throws IOException {
    this.serverPort = serverPort;
    this.ends = ends;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(this::acceptLoop);
  }

  /** Copies bytes without understanding them, as anyone on the network path can. */
  public static LoopbackRelay forwardingBytes(int serverPort) throws IOException {
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
  public static LoopbackRelay terminatingTls(
      TransportSecurity towardClient, TransportSecurity towardServer, int serverPort)
      throws IOException {
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

  public int port() {
    return listener.getLocalPort();
  }

  /** Everything clients sent, as the relay saw it, over all connections so far. */
  public byte[] fromClients() {
    synchronized (fromClients) {
      return fromClients.toByteArray();
    }
  }

  /** Everything both directions carried, as the relay saw it. */
  public byte[] seen() {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    synchronized (fromClients) {
      all.writeBytes(fromClients.toByteArray());
    }
    synchronized (fromServer) {
      all.writeBytes(fromServer.toByteArray());
    }
    return all.toByteArray();
  }

  /** Stops all traffic, keeping the connections open. */
  public void freeze() {
    frozen = true;
  }

  /** Lets traffic flow again after {@link #freeze()}. */
  public void resume() {
    synchronized (gate) {
      frozen = false;
      gate.notifyAll();
    }
  }

  /** Closes every connection now; new ones are relayed as before. */
  public void cut() {
    for (Socket socket : sockets) {
      closeQuietly(socket);
    }
    sockets.clear();
  }

  private void awaitOpen() throws InterruptedException {
    synchronized (gate) {
      while (frozen) {
        gate.wait();
      }
    }
  }

  private void acceptLoop() {
    while (!listener.isClosed()) {
      try {
        Socket client = listener.accept();
        sockets.add(client);
        Thread.ofVirtual().start(() -> relay(client));
      } catch (IOException e) {
        if (listener.isClosed()) {
          return;
        }
      }
    }
  }

  private void relay(Socket client) {
    try {
      awaitOpen();
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

  private void copy(
      InputStream in, OutputStream out, ByteArrayOutputStream record, Socket a, Socket b) {
    byte[] buffer = new byte[8192];
    try {
      int read;
      while ((read = in.read(buffer)) > 0) {
        synchronized (record) {
          record.write(buffer, 0, read);
        }
        awaitOpen();
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException | InterruptedException connectionEnded) {
      // one side hung up, or the test cut the connection
    }
    try {
      // Across a broken network a hang-up does not reach the other side either.
      awaitOpen();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(a);
    closeQuietly(b);
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
    resume();
    listener.close();
    cut();
  }
}
