package kueue.worker;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.HostKey;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchChangedHostKeyException;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.JSchHostKeyException;
import com.jcraft.jsch.JSchUnknownHostKeyException;
import com.jcraft.jsch.Session;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An SSH connection to one host that logs in only with the keys of the user's ssh-agent and trusts
 * only host keys already in the user's known_hosts: a host it has never seen, or whose key changed,
 * is refused, never added.
 */
final class RemoteShell implements AutoCloseable {
  /** A command's exit status and output. */
  record Output(int exitStatus, String stdout, String stderr) {}

  /** Why a host could not be reached or a command not run, in words for the log. */
  static final class RemoteException extends Exception {
    RemoteException(String message) {
      super(message);
    }
  }

  private final Session session;

  private RemoteShell(Session session) {
    this.session = session;
  }

  /**
   * @param jsch configured with the agent's identities and the user's known_hosts
   * @param knownHosts that known_hosts file, named in messages about host keys
   */
  static RemoteShell connect(
      JSch jsch, Path knownHosts, String user, HostAddress host, Duration timeout)
      throws RemoteException {
    Session session;
    try {
      session = jsch.getSession(user, host.host(), host.port());
    } catch (JSchException e) {
      throw new RemoteException(e.getMessage());
    }
    session.setConfig("StrictHostKeyChecking", "yes");
    // Offer first the key types known_hosts has for the host, as ssh does, so that a host with
    // several keys is not refused for showing one that was never recorded.
    session.setConfig("prefer_known_host_key_types", "yes");
    session.setConfig("PreferredAuthentications", "publickey");
    try {
      session.connect(Math.toIntExact(timeout.toMillis()));
    } catch (JSchUnknownHostKeyException e) {
      throw new RemoteException(
          "unknown host key"
              + fingerprint(session, jsch)
              + ": "
              + knownHostsName(host)
              + " is not in "
              + knownHosts
              + "; if the fingerprint is right, log in once with `ssh"
              + (host.port() == HostAddress.SSH_PORT ? "" : " -p " + host.port())
              + " "
              + user
              + "@"
              + host.host()
              + "` and accept it");
    } catch (JSchChangedHostKeyException e) {
      throw new RemoteException(
          "HOST KEY CHANGED"
              + fingerprint(session, jsch)
              + ": it does not match the key for "
              + knownHostsName(host)
              + " in "
              + knownHosts
              + "; refusing to connect. Someone may be impersonating the host, or it was"
              + " reinstalled: if you know it was, remove the old key with `ssh-keygen -R '"
              + knownHostsName(host)
              + "'`");
    } catch (JSchHostKeyException e) {
      throw new RemoteException("host key refused: " + e.getMessage());
    } catch (JSchException e) {
      throw new RemoteException(describe(e, user, timeout));
    }
    return new RemoteShell(session);
  }

  /**
   * Runs a command through the user's login shell on the host, with {@code stdin} as its input
   * (then end of file), and waits at most {@code timeout} for it to end.
   */
  Output run(String command, String stdin, Duration timeout) throws RemoteException {
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    ChannelExec channel;
    try {
      channel = (ChannelExec) session.openChannel("exec");
    } catch (JSchException e) {
      throw new RemoteException("cannot run a command: " + e.getMessage());
    }
    try {
      channel.setCommand(command);
      channel.setInputStream(
          new ByteArrayInputStream((stdin == null ? "" : stdin).getBytes(StandardCharsets.UTF_8)));
      channel.setOutputStream(stdout);
      channel.setErrStream(stderr);
      long deadline = System.nanoTime() + timeout.toNanos();
      channel.connect(Math.toIntExact(timeout.toMillis()));
      // JSch reports the end of a command only through this flag, so it is polled.
      while (!channel.isClosed()) {
        if (System.nanoTime() - deadline > 0) {
          throw new RemoteException(
              "`" + command + "` did not finish within " + timeout.toSeconds() + " s");
        }
        Thread.sleep(20);
      }
      return new Output(
          channel.getExitStatus(),
          stdout.toString(StandardCharsets.UTF_8),
          stderr.toString(StandardCharsets.UTF_8));
    } catch (JSchException e) {
      throw new RemoteException("cannot run `" + command + "`: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RemoteException("interrupted while running `" + command + "`");
    } finally {
      channel.disconnect();
    }
  }

  @Override
  public void close() {
    session.disconnect();
  }

  /** How known_hosts and ssh-keygen -R name the host. */
  private static String knownHostsName(HostAddress host) {
    return host.port() == HostAddress.SSH_PORT
        ? host.host()
        : "[" + host.host() + "]:" + host.port();
  }

  /**
   * " (ED25519 SHA256:...)": the key the host showed, which JSch keeps even when it refused it, so
   * that the user can compare it with the one the host's owner announced.
   */
  private static String fingerprint(Session session, JSch jsch) {
    HostKey key = session.getHostKey();
    return key == null ? "" : " (" + key.getType() + " " + key.getFingerPrint(jsch) + ")";
  }

  private static String describe(JSchException e, String user, Duration timeout) {
    Throwable cause = e.getCause();
    if (cause instanceof ConnectException) {
      return "connection refused (is an SSH server running there, on that port?)";
    }
    if (cause instanceof UnknownHostException) {
      return "unknown host name";
    }
    if (cause instanceof NoRouteToHostException) {
      return "no route to host";
    }
    String message = String.valueOf(e.getMessage());
    if (cause instanceof SocketTimeoutException || message.startsWith("timeout")) {
      return "no answer within " + timeout.toSeconds() + " s (host down?)";
    }
    if (message.equals("Auth fail") || message.startsWith("Auth fail")) {
      return "login as "
          + user
          + " refused: the host accepted none of the ssh-agent's keys (`ssh-add -l` lists them)";
    }
    return message;
  }
}
