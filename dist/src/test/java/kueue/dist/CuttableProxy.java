package kueue.dist;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay on 127.0.0.1 between a worker and the server, whose network the test controls: {@link
 * #freeze()} stops every byte in both directions while the connections stay open (a cable pulled
 * somewhere in between: nobody is told anything), {@link #cut()} closes the connections (both ends
 * notice at once), {@link #resume()} lets traffic flow again. While frozen, new connections are
 * accepted but not forwarded either, and a side that hangs up is not heard by the other one until
 * the network is back.
 */
final class CuttableProxy implements AutoCloseable {
  private final ServerSocket listener;
  private final int serverPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile boolean frozen;

  CuttableProxy(int serverPort) throws IOException {
    this.serverPort = serverPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(this::acceptLoop);
  }

  int port() {
    return listener.getLocalPort();
  }

  void freeze() {
    frozen = true;
  }

  void resume() {
    synchronized (gate) {
      frozen = false;
      gate.notifyAll();
    }
  }

  /** Closes every connection now; new ones are relayed as before. */
  void cut() {
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
      Socket server = new Socket(InetAddress.getLoopbackAddress(), serverPort);
      sockets.add(server);
      Thread.ofVirtual().start(() -> copy(client, server));
      copy(server, client);
    } catch (IOException | InterruptedException e) {
      closeQuietly(client);
    }
  }

  private void copy(Socket from, Socket to) {
    byte[] buffer = new byte[8192];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int read;
      while ((read = in.read(buffer)) > 0) {
        awaitOpen();
        out.write(buffer, 0, read);
        out.flush();
      }
    } catch (IOException | InterruptedException connectionEnded) {
      // either side hung up, or the test cut the connection
    }
    try {
      // Across a broken network a hang-up does not reach the other side either.
      awaitOpen();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(from);
    closeQuietly(to);
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closed already
    }
  }

  @Override
  public void close() throws IOException {
    resume();
    listener.close();
    cut();
  }
}
