package kueue.client;

import java.io.PrintWriter;
import kueue.config.ConfigException;
import kueue.config.KueueConfig;

/** What an {@link ExternalCommand} needs of the run: the user's config and the server. */
public interface ServerAccess {
  /** The config file the run was given (-c) or the default one, read on first use. */
  KueueConfig config() throws ConfigException;

  /** A new authenticated connection to the server of {@link #config()}. */
  KueueClient connect() throws ConfigException, CliException;

  /** Where warnings go. */
  PrintWriter err();
}
