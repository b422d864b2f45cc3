package kueue.config;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.tomlj.Toml;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * Finds, creates on first start, reads and validates the configuration file.
 *
 * <p>The file is {@code $XDG_CONFIG_HOME/kueue/config.toml}, or {@code
 * $HOME/.config/kueue/config.toml} when XDG_CONFIG_HOME is unset, unless a path is given with
 * -c/--config.
 */
public final class ConfigLoader {
  /** The pin file's name in the config file's directory, unless server_key_file names another. */
  public static final String DEFAULT_SERVER_KEY_FILE = "server-key.pub";

  private static final Set<String> LOG_LEVELS = Set.of("trace", "debug", "info", "warn", "error");
  private static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY =
      PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> OWNER_ONLY_FILE =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<String> SECTIONS =
      Set.of("common", "server", "worker", "client", "restart_workers", "global_resources");

  private ConfigLoader() {}

  /** A new secret like the template's: 256 random bits, URL-safe base64. */
  public static String newSharedSecret() {
    return ConfigTemplate.newSharedSecret();
  }

  /**
   * Loads the configuration of the running process; warnings go to stderr as "kueue: warning: ...".
   */
  public static KueueConfig load(Path explicitPathOrNull) throws ConfigException {
    return load(
        explicitPathOrNull,
        warning -> System.err.println("kueue: warning: " + warning),
        System.getenv());
  }

  /**
   * Loads the configuration; {@code environment} supplies HOME, XDG_CONFIG_HOME and XDG_DATA_HOME
   * so that tests need not touch the real home directory.
   */
  public static KueueConfig load(
      Path explicitPathOrNull, Consumer<String> warnings, Map<String, String> environment)
      throws ConfigException {
    Path file = resolvePath(explicitPathOrNull, environment);
    if (!Files.exists(file)) {
      if (explicitPathOrNull != null) {
        // A named file that is missing is most likely a typo; a template there would come with a
        // secret of its own, and the program would go on talking to nobody.
        throw new ConfigException(
            file
                + ": no such configuration file (only the default one, "
                + resolvePath(null, environment)
                + ", is created when missing)");
      }
      createTemplate(file);
      warnings.accept(
          "created a configuration file with a new shared_secret at "
              + file
              + "; use the same file on every machine that runs Kueue");
    }
    String looseAccess = readableByOthers(file);
    String text = read(file);
    TomlParseResult toml = parse(text);
    if (toml.hasErrors()) {
      TomlParseError error = toml.errors().getFirst();
      throw new ConfigException(
          file
              + ":"
              + error.position().line()
              + ": malformed TOML: "
              + error.getMessage()
              + " (column "
              + error.position().column()
              + ")");
    }
    KueueConfig config = new SettingsReader(file, toml, warnings, environment).read();
    if (looseAccess != null) {
      String problem =
          file
              + " holds the shared secret but can be read by other users ("
              + looseAccess
              + "); fix with: chmod 600 "
              + file;
      if (!Boolean.TRUE.equals(toml.getBoolean("common." + ALLOW_READABLE_CONFIG))) {
        throw new ConfigException(
            problem + " (or set [common] " + ALLOW_READABLE_CONFIG + " = true to accept it)");
      }
      warnings.accept(problem);
    }
    return config;
  }

  /**
   * Accepts a configuration file that other users can read, for whoever shares the secret with the
   * group on purpose; like ssh with a key file, the default is to refuse.
   */
  static final String ALLOW_READABLE_CONFIG = "allow_readable_config";

  /** A file's text and what it parsed to. */
  private record ParsedText(String text, TomlParseResult toml) {}

  /**
   * The last text parsed. The CLI daemon loads the configuration for every command, and parsing is
   * most of that; the text is still read every time, so an edit takes effect at once. Nothing
   * changes a parse result after parsing, so threads can share it.
   */
  private static volatile ParsedText lastParsed;

  private static TomlParseResult parse(String text) {
    ParsedText last = lastParsed;
    if (last != null && last.text().equals(text)) {
      return last.toml();
    }
    TomlParseResult toml = Toml.parse(text);
    lastParsed = new ParsedText(text, toml);
    return toml;
  }

  /** The file {@link #load} reads: the explicit path, else the XDG location, else ~/.config. */
  public static Path resolvePath(Path explicitPathOrNull, Map<String, String> environment) {
    if (explicitPathOrNull != null) {
      return explicitPathOrNull.toAbsolutePath().normalize();
    }
    Path configHome = absoluteDirectory(environment.get("XDG_CONFIG_HOME"));
    if (configHome == null) {
      configHome = home(environment).resolve(".config");
    }
    return configHome.resolve("kueue").resolve("config.toml");
  }

  static Path defaultDataDirectory(Map<String, String> environment) {
    Path dataHome = absoluteDirectory(environment.get("XDG_DATA_HOME"));
    if (dataHome == null) {
      dataHome = home(environment).resolve(".local").resolve("share");
    }
    return dataHome.resolve("kueue");
  }

  /**
   * Where programs keep what they can recompute, such as the server's public key: {@code
   * $XDG_CACHE_HOME/kueue}, else {@code ~/.cache/kueue}.
   */
  public static Path cacheDirectory(Map<String, String> environment) {
    Path cacheHome = absoluteDirectory(environment.get("XDG_CACHE_HOME"));
    if (cacheHome == null) {
      cacheHome = home(environment).resolve(".cache");
    }
    return cacheHome.resolve("kueue");
  }

  /** XDG says an empty or relative value is to be ignored. */
  private static Path absoluteDirectory(String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    Path path = Path.of(value);
    return path.isAbsolute() ? path : null;
  }

  private static Path home(Map<String, String> environment) {
    String home = environment.get("HOME");
    if (home == null || home.isEmpty()) {
      home = System.getProperty("user.home");
    }
    return Path.of(home);
  }

  private static void createTemplate(Path file) throws ConfigException {
    String content = ConfigTemplate.render(ConfigTemplate.newSharedSecret());
    try {
      Path directory = file.getParent();
      createPrivateDirectories(directory);
      // Written under a temporary name and then linked into place, so that a program starting at
      // the same moment (shared home) never reads a half-written file and an existing file is
      // never replaced: creating the link fails when the name is taken.
      Path temporary = createPrivateFile(directory, content);
      try {
        Files.createLink(file, temporary);
      } catch (FileAlreadyExistsException someoneElseWasFaster) {
        // Their file wins; ours is discarded below.
      } catch (UnsupportedOperationException | IOException noHardLinks) {
        writeNewPrivateFile(file, content);
      } finally {
        Files.deleteIfExists(temporary);
      }
    } catch (IOException e) {
      throw new ConfigException(
          "cannot create the configuration file " + file + ": " + describe(e), e);
    }
  }

  private static void createPrivateDirectories(Path directory) throws IOException {
    if (Files.isDirectory(directory)) {
      return;
    }
    if (isPosix(directory)) {
      Files.createDirectories(
          directory, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
    } else {
      Files.createDirectories(directory);
    }
  }

  /** The permissions are part of the creation, so the secret is never readable by others. */
  private static Path createPrivateFile(Path directory, String content) throws IOException {
    Path temporary =
        isPosix(directory)
            ? Files.createTempFile(
                directory,
                ".config-",
                ".toml",
                PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE))
            : Files.createTempFile(directory, ".config-", ".toml");
    try {
      Files.writeString(temporary, content, StandardCharsets.UTF_8, StandardOpenOption.WRITE);
    } catch (IOException e) {
      Files.deleteIfExists(temporary);
      throw e;
    }
    return temporary;
  }

  private static void writeNewPrivateFile(Path file, String content) throws IOException {
    Set<StandardOpenOption> options =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    try (SeekableByteChannel channel =
        isPosix(file.getParent())
            ? Files.newByteChannel(
                file, options, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE))
            : Files.newByteChannel(file, options)) {
      ByteBuffer buffer = ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    } catch (FileAlreadyExistsException someoneElseWasFaster) {
      // Their file wins.
    }
  }

  private static boolean isPosix(Path anyPathOnTheFileSystem) {
    Path path = anyPathOnTheFileSystem == null ? Path.of(".") : anyPathOnTheFileSystem;
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }

  /** The file's permissions when group or others may read it, otherwise null. */
  private static String readableByOthers(Path file) {
    PosixFileAttributeView view = Files.getFileAttributeView(file, PosixFileAttributeView.class);
    if (view == null) {
      return null;
    }
    try {
      Set<PosixFilePermission> permissions = view.readAttributes().permissions();
      if (permissions.contains(PosixFilePermission.GROUP_READ)
          || permissions.contains(PosixFilePermission.OTHERS_READ)) {
        return PosixFilePermissions.toString(permissions);
      }
    } catch (IOException ignored) {
      // Reading the file will report the real problem.
    }
    return null;
  }

  private static String read(Path file) throws ConfigException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException(
          "cannot read the configuration file " + file + ": " + describe(e), e);
    }
  }

  private static String describe(IOException e) {
    return switch (e) {
      case NoSuchFileException n -> "no such file or directory: " + n.getFile();
      case AccessDeniedException a -> "permission denied: " + a.getFile();
      case FileAlreadyExistsException f -> "already exists: " + f.getFile();
      case java.nio.charset.MalformedInputException m -> "not UTF-8 text";
      default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    };
  }

  /** Turns the parsed TOML into the record, one section at a time, collecting unknown keys. */
  private static final class SettingsReader {
    private final Path file;
    private final TomlParseResult toml;
    private final Consumer<String> warnings;
    private final Map<String, String> environment;

    SettingsReader(
        Path file,
        TomlParseResult toml,
        Consumer<String> warnings,
        Map<String, String> environment) {
      this.file = file;
      this.toml = toml;
      this.warnings = warnings;
      this.environment = environment;
    }

    KueueConfig read() throws ConfigException {
      for (String key : toml.keySet()) {
        if (!SECTIONS.contains(key)) {
          warnings.accept("unknown setting " + key + " in " + file + " (ignored)");
        }
      }
      Section common = section("common");
      Section server = section("server");
      Section worker = section("worker");
      Section client = section("client");
      KueueConfig.Server serverSettings = readServer(server);
      KueueConfig config =
          new KueueConfig(
              file,
              readCommon(common),
              serverSettings,
              readWorker(worker),
              readClient(client, serverSettings.workerTimeout()),
              readRestartWorkers(),
              readGlobalResources());
      for (Section s : List.of(common, server, worker, client)) {
        s.warnAboutUnknownKeys();
      }
      return config;
    }

    private KueueConfig.Common readCommon(Section s) throws ConfigException {
      String secret = s.string("shared_secret", null);
      if (secret == null) {
        throw new ConfigException(
            file
                + ": [common] shared_secret is missing; expected a long random string, the same on"
                + " every machine (e.g. from: openssl rand -base64 32)");
      }
      if (secret.isBlank()) {
        throw new ConfigException(
            file + ": [common] shared_secret is empty; expected a long random string");
      }
      int bits = SecretStrength.roundedBits(secret);
      if (bits < SecretStrength.MIN_BITS) {
        // Whoever can reach the server, or sees a copy of its traffic, must not be able to find
        // the secret by trying likely ones; what people type is found in minutes.
        throw new ConfigException(
            file
                + ": [common] shared_secret is too easy to guess (about "
                + bits
                + " bits, at least "
                + SecretStrength.MIN_BITS
                + " are needed); put a generated one in its place, from: kueue generate-secret"
                + " (or: openssl rand -base64 32), the same on every machine");
      }
      // Read by load(), which needs it before the rest; named here so that it is a known key.
      s.bool(ALLOW_READABLE_CONFIG, false);
      String serverName = s.string("server_name", "localhost").strip();
      if (serverName.isEmpty()) {
        throw s.invalid("server_name", "a host name or address, not an empty string");
      }
      int serverPort = s.integer("server_port", 11236, 1, 65535);
      String logLevel = s.string("log_level", "info").strip().toLowerCase(java.util.Locale.ROOT);
      if (!LOG_LEVELS.contains(logLevel)) {
        throw s.invalid("log_level", "one of trace, debug, info, warn, error");
      }
      String encryption = s.string("encryption", "tls").strip().toLowerCase(java.util.Locale.ROOT);
      KueueConfig.Encryption mode =
          switch (encryption) {
            case "tls" -> KueueConfig.Encryption.TLS;
            case "none" -> KueueConfig.Encryption.NONE;
            default -> throw s.invalid("encryption", "\"tls\" (the default) or \"none\"");
          };
      return new KueueConfig.Common(
          secret, serverName, serverPort, logLevel, mode, serverKeyFile(s));
    }

    /**
     * Next to the config file by default, so that every machine sharing the home directory finds
     * the key the server wrote; a relative path is taken from the config file's directory.
     */
    private Path serverKeyFile(Section s) throws ConfigException {
      Path configDirectory = file.toAbsolutePath().getParent();
      String value = s.string("server_key_file", "").strip();
      if (value.isEmpty()) {
        return configDirectory.resolve(DEFAULT_SERVER_KEY_FILE);
      }
      if (value.startsWith("~/")) {
        return home(environment).resolve(value.substring(2)).normalize();
      }
      try {
        return configDirectory.resolve(value).normalize();
      } catch (java.nio.file.InvalidPathException e) {
        throw s.invalid("server_key_file", "a file path");
      }
    }

    private KueueConfig.Server readServer(Section s) throws ConfigException {
      List<String> bindings = s.words("address_bindings", "0.0.0.0 [::]");
      if (bindings.isEmpty()) {
        throw s.invalid("address_bindings", "at least one address, e.g. \"0.0.0.0 [::]\"");
      }
      return new KueueConfig.Server(
          bindings,
          Duration.ofSeconds(s.integer("worker_timeout_seconds", 20, 1, Integer.MAX_VALUE)),
          Duration.ofSeconds(s.integer("job_offer_timeout_seconds", 30, 1, Integer.MAX_VALUE)),
          Duration.ofMinutes(s.integer("job_cleanup_after_minutes", 2880, 1, Integer.MAX_VALUE)),
          s.integer("global_max_parallel_jobs", 100, 1, Integer.MAX_VALUE),
          s.integer("job_max_attempts", 5, 1, Integer.MAX_VALUE),
          dataDirectory(s),
          metricsAddress(s),
          Duration.ofMinutes(
              s.integer(
                  "job_declined_timeout_minutes",
                  (int) KueueConfig.Server.DEFAULT_JOB_DECLINED_TIMEOUT.toMinutes(),
                  0,
                  Integer.MAX_VALUE)));
    }

    /** "HOST:PORT" or "[IPv6]:PORT"; empty (the default) means no metrics. */
    private java.net.InetSocketAddress metricsAddress(Section s) throws ConfigException {
      String value = s.string("metrics_address", "").strip();
      if (value.isEmpty()) {
        return null;
      }
      int colon = value.lastIndexOf(':');
      String host = colon < 0 ? "" : value.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = colon < 0 ? -1 : Integer.parseInt(value.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
      if (host.isEmpty() || port < 1 || port > 65535) {
        throw s.invalid("metrics_address", "HOST:PORT, e.g. \"127.0.0.1:9464\", or empty for none");
      }
      return java.net.InetSocketAddress.createUnresolved(host, port);
    }

    private Path dataDirectory(Section s) throws ConfigException {
      String value = s.string("data_directory", "").strip();
      if (value.isEmpty()) {
        return defaultDataDirectory(environment);
      }
      if (value.equals("~")) {
        return home(environment);
      }
      if (value.startsWith("~/")) {
        return home(environment).resolve(value.substring(2)).normalize();
      }
      Path path;
      try {
        path = Path.of(value);
      } catch (java.nio.file.InvalidPathException e) {
        throw s.invalid("data_directory", "a valid directory path");
      }
      if (!path.isAbsolute()) {
        throw s.invalid("data_directory", "an absolute path or one starting with ~/");
      }
      return path.normalize();
    }

    private KueueConfig.Worker readWorker(Section s) throws ConfigException {
      String workerName = s.string("worker_name", "").strip();
      if (workerName.isEmpty()) {
        workerName = hostName();
      }
      return new KueueConfig.Worker(
          workerName,
          s.integer("worker_max_parallel_jobs", 10, 1, Integer.MAX_VALUE),
          s.bool("dynamic_check_free_resources", true),
          s.decimal("dynamic_cpu_load_scale_factor", 1.0, 0.0, 1000.0),
          Duration.ofSeconds(s.integer("heartbeat_interval_seconds", 2, 1, 3600)),
          s.longInteger("captured_output_max_bytes", 1_048_576L, 0, Long.MAX_VALUE),
          Duration.ofSeconds(
              s.integer(
                  "time_limit_grace_seconds",
                  (int) KueueConfig.Worker.DEFAULT_TIME_LIMIT_GRACE.toSeconds(),
                  0,
                  86_400)),
          readDevices(s));
    }

    private KueueConfig.Devices readDevices(Section s) throws ConfigException {
      String gpus = s.string("gpus", "auto").strip().toLowerCase(java.util.Locale.ROOT);
      if (gpus.isEmpty()) {
        gpus = "auto";
      }
      if (!gpus.equals("auto") && !gpus.equals("none") && indexList(gpus) == null) {
        throw s.invalid("gpus", "\"auto\", \"none\" or GPU indices such as \"0,2\"");
      }
      long busyMemory = s.longInteger("gpu_busy_memory_mb", 1024, 0, Long.MAX_VALUE);
      boolean hide = s.bool("hide_unrequested_devices", true);
      Map<String, KueueConfig.DeclaredResource> declared = new java.util.TreeMap<>();
      Object resources = s.value("resources");
      if (resources != null) {
        if (!(resources instanceof TomlTable table)) {
          throw s.invalid("resources", "a table [worker.resources]");
        }
        for (String name : table.keySet()) {
          declared.put(name, declaredResource(name, table.get(List.of(name))));
        }
      }
      return new KueueConfig.Devices(gpus, busyMemory, hide, declared);
    }

    private KueueConfig.DeclaredResource declaredResource(String name, Object value)
        throws ConfigException {
      String where = file + ": [worker.resources] " + name;
      if (!name.matches("[A-Za-z0-9_.-]+") || name.equals("gpus")) {
        throw new ConfigException(
            where
                + ": a resource name is letters, digits, '_', '-' or '.'; \"gpus\" is found by"
                + " itself (see [worker] gpus)");
      }
      if (!(value instanceof TomlTable entry)) {
        throw new ConfigException(
            where + ": expected { count = N, variable = \"NAME\" } or { indices = \"0,1\", ... }");
      }
      Object variable = entry.get(List.of("variable"));
      if (!(variable instanceof String text) || !text.matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new ConfigException(
            where + ": variable must name the environment variable that gets the indices");
      }
      List<Integer> indices;
      Object count = entry.get(List.of("count"));
      Object listed = entry.get(List.of("indices"));
      if (count instanceof Long number && number >= 1 && number <= 1024 && listed == null) {
        indices = new ArrayList<>();
        for (int index = 0; index < number; index++) {
          indices.add(index);
        }
      } else if (listed instanceof String list && count == null && indexList(list) != null) {
        indices = indexList(list);
      } else {
        throw new ConfigException(
            where + ": give either count (1 to 1024) or indices (such as \"0,2\"), not both");
      }
      for (String key : entry.keySet()) {
        if (!List.of("variable", "count", "indices").contains(key)) {
          warnings.accept("unknown setting [worker.resources] " + name + "." + key + " (ignored)");
        }
      }
      return new KueueConfig.DeclaredResource(indices, text);
    }

    /** "0,2" as indices, or null when it is not such a list. */
    private static List<Integer> indexList(String text) {
      List<Integer> indices = new ArrayList<>();
      for (String part : text.split(",", -1)) {
        String index = part.strip();
        if (!index.matches("[0-9]{1,4}")) {
          return null;
        }
        int value = Integer.parseInt(index);
        if (!indices.contains(value)) {
          indices.add(value);
        }
      }
      return indices.isEmpty() ? null : List.copyOf(indices);
    }

    private KueueConfig.Client readClient(Section s, Duration workerTimeout)
        throws ConfigException {
      String timeLimit = s.string("job_default_time_limit", "").strip();
      Long timeLimitSeconds = null;
      if (!timeLimit.isEmpty()) {
        try {
          timeLimitSeconds = DurationText.seconds(timeLimit);
        } catch (IllegalArgumentException e) {
          throw s.invalid("job_default_time_limit", "a duration (" + DurationText.FORMS + ")");
        }
      }
      // A server that stays away longer than its workers' timeout has lost them anyway; three
      // times that covers a restart with a database check.
      long restartWaitDefault = Math.min(3 * workerTimeout.toSeconds(), Integer.MAX_VALUE);
      return new KueueConfig.Client(
          s.integer("job_default_cpus", 1, 0, Integer.MAX_VALUE),
          s.longInteger("job_default_ram_mb", 1024, 0, Long.MAX_VALUE),
          timeLimitSeconds,
          Duration.ofSeconds(
              s.integer(
                  "server_restart_wait_seconds", (int) restartWaitDefault, 0, Integer.MAX_VALUE)));
    }

    private KueueConfig.RestartWorkers readRestartWorkers() throws ConfigException {
      if (!toml.contains("restart_workers")) {
        return new KueueConfig.RestartWorkers(
            null, List.of(), 60, KueueConfig.RestartWorkers.DEFAULT_WORKER_COMMAND);
      }
      Section s = section("restart_workers");
      String sshUser = s.string("ssh_user", null);
      if (sshUser != null && sshUser.isBlank()) {
        throw s.invalid("ssh_user", "a user name, not an empty string");
      }
      List<String> hostnames = s.words("hostnames", "");
      int sleepMinutes = s.integer("sleep_minutes_before_recheck", 60, 1, Integer.MAX_VALUE);
      String workerCommand =
          s.string("worker_command", KueueConfig.RestartWorkers.DEFAULT_WORKER_COMMAND);
      if (workerCommand.isBlank()) {
        throw s.invalid("worker_command", "a command line, not an empty string");
      }
      s.warnAboutUnknownKeys();
      return new KueueConfig.RestartWorkers(
          sshUser == null ? null : sshUser.strip(), hostnames, sleepMinutes, workerCommand.strip());
    }

    private Map<String, Integer> readGlobalResources() throws ConfigException {
      Section s = section("global_resources");
      Map<String, Integer> resources = new LinkedHashMap<>();
      for (String name : s.table.keySet()) {
        resources.put(name, s.integer(name, 0, 1, Integer.MAX_VALUE));
      }
      return Map.copyOf(resources);
    }

    private Section section(String name) throws ConfigException {
      Object value = toml.get(List.of(name));
      if (value == null) {
        return new Section(name, null);
      }
      if (value instanceof TomlTable table) {
        return new Section(name, table);
      }
      throw new ConfigException(
          file
              + ": "
              + name
              + " is "
              + article(typeName(value))
              + "; expected a section ["
              + name
              + "]");
    }

    /** One [section]; every getter remembers the key so that the rest can be reported unknown. */
    private final class Section {
      private final String name;
      private final TomlTable table;
      private final Set<String> known = new java.util.HashSet<>();

      Section(String name, TomlTable tableOrNull) {
        this.name = name;
        this.table = tableOrNull == null ? emptyTable() : tableOrNull;
      }

      void warnAboutUnknownKeys() {
        for (String key : table.keySet()) {
          if (!known.contains(key)) {
            warnings.accept("unknown setting [" + name + "] " + key + " in " + file + " (ignored)");
          }
        }
      }

      ConfigException invalid(String key, String expectation) {
        return invalid(key, expectation, table.get(List.of(key)));
      }

      private ConfigException invalid(String key, String expectation, Object found) {
        String where = file + ":" + lineOf(key) + ": [" + name + "] " + key;
        String foundText = found == null ? "" : " but found " + describeValue(key, found);
        return new ConfigException(where + ": expected " + expectation + foundText);
      }

      private String lineOf(String key) {
        var position = table.inputPositionOf(List.of(key));
        return position == null ? "" : String.valueOf(position.line());
      }

      private String describeValue(String key, Object value) {
        if (key.equals("shared_secret")) {
          return article(typeName(value));
        }
        if (value instanceof String string) {
          return "\"" + (string.length() > 40 ? string.substring(0, 40) + "…" : string) + "\"";
        }
        if (value instanceof Long || value instanceof Double || value instanceof Boolean) {
          return typeName(value) + " " + value;
        }
        return article(typeName(value));
      }

      private Object value(String key) {
        known.add(key);
        return table.get(List.of(key));
      }

      String string(String key, String fallback) throws ConfigException {
        Object value = value(key);
        if (value == null) {
          return fallback;
        }
        if (value instanceof String string) {
          return string;
        }
        throw invalid(key, "a string in quotes", value);
      }

      /** A string of whitespace-separated words, or an array of strings. */
      List<String> words(String key, String fallback) throws ConfigException {
        Object value = value(key);
        if (value == null) {
          return split(fallback);
        }
        if (value instanceof String string) {
          return split(string);
        }
        if (value instanceof org.tomlj.TomlArray array) {
          List<String> words = new ArrayList<>();
          for (Object element : array.toList()) {
            if (!(element instanceof String word)) {
              throw invalid(key, "a string of names separated by spaces", value);
            }
            words.addAll(split(word));
          }
          return List.copyOf(words);
        }
        throw invalid(key, "a string of names separated by spaces", value);
      }

      int integer(String key, int fallback, int min, int max) throws ConfigException {
        return (int) longInteger(key, fallback, min, max);
      }

      long longInteger(String key, long fallback, long min, long max) throws ConfigException {
        Object value = value(key);
        if (value == null) {
          return fallback;
        }
        if (value instanceof Long number && number >= min && number <= max) {
          return number;
        }
        throw invalid(key, integerExpectation(min, max), value);
      }

      double decimal(String key, double fallback, double min, double max) throws ConfigException {
        Object value = value(key);
        if (value == null) {
          return fallback;
        }
        double number;
        if (value instanceof Double d) {
          number = d;
        } else if (value instanceof Long l) {
          number = l;
        } else {
          throw invalid(key, "a number from " + min + " to " + max, value);
        }
        if (Double.isNaN(number) || number < min || number > max) {
          throw invalid(key, "a number from " + min + " to " + max, value);
        }
        return number;
      }

      boolean bool(String key, boolean fallback) throws ConfigException {
        Object value = value(key);
        if (value == null) {
          return fallback;
        }
        if (value instanceof Boolean b) {
          return b;
        }
        throw invalid(key, "true or false (without quotes)", value);
      }
    }
  }

  private static String integerExpectation(long min, long max) {
    if (max == Integer.MAX_VALUE || max == Long.MAX_VALUE) {
      return min == 0 ? "a whole number >= 0" : "a whole number >= " + min;
    }
    return "a whole number from " + min + " to " + max;
  }

  private static List<String> split(String words) {
    String stripped = words.strip();
    return stripped.isEmpty() ? List.of() : List.copyOf(Arrays.asList(stripped.split("\\s+")));
  }

  private static String typeName(Object value) {
    return switch (value) {
      case String s -> "string";
      case Long l -> "integer";
      case Double d -> "number";
      case Boolean b -> "boolean";
      case TomlTable t -> "table";
      case org.tomlj.TomlArray a -> "array";
      default -> "date or time";
    };
  }

  private static String article(String noun) {
    return ("aeiou".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
  }

  private static TomlTable emptyTable() {
    return Toml.parse("");
  }

  /** The kernel's idea of the host name; DNS is not asked because it may be slow or absent. */
  static String hostName() {
    try {
      String name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
      if (!name.isEmpty()) {
        return name;
      }
    } catch (IOException | RuntimeException notLinux) {
      // Fall through to the JDK.
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "localhost";
    }
  }
}
