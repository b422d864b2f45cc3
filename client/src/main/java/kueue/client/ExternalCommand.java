package kueue.client;

/**
 * A {@code kueue} command that lives in a module the client does not depend on (the dashboard, with
 * its web server and scripts), found through {@link java.util.ServiceLoader} when the command tree
 * is built for anything but a plain server command, so the commands users run most never look.
 */
public interface ExternalCommand {
  /** The command's name on the command line. */
  String name();

  /** A picocli command object for one run, which reaches the server through {@code access}. */
  Object command(ServerAccess access);
}
