package kueue.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;

class ConfigLoaderTest {
  private static final String SECRET = "NiTLllMGmOXb-IqY2bPPrTG7z1a--6bfYKTeifQHOJ8";

  @TempDir Path home;
  private final List<String> warnings = new ArrayList<>();

  private Map<String, String> env() {
    return Map.of("HOME", home.toString());
  }

  private KueueConfig load(Path explicit) throws ConfigException {
    return ConfigLoader.load(explicit, warnings::add, env());
  }

  private Path write(String content) throws IOException {
    Path file = home.resolve("config.toml");
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    return file;
  }

  private KueueConfig loadText(String content) throws Exception {
    return load(write(content));
  }

  private static String withSecret(String rest) {
    return "[common]\nshared_secret = \"" + SECRET + "\"\n" + rest;
  }

  @Test
  void metricsAddressIsOffByDefaultAndTakesHostAndPort() throws Exception {
    Path file = home.resolve("metrics.toml");
    Files.writeString(file, withSecret("[server]\nmetrics_address = \"[::1]:9464\"\n"));
    Path bad = home.resolve("bad-metrics.toml");
    Files.writeString(bad, withSecret("[server]\nmetrics_address = \"9464\"\n"));
    for (Path config : List.of(file, bad)) {
      Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-------"));
    }

    var address = ConfigLoader.load(file, w -> {}, Map.of("HOME", home.toString())).server();

    assertThat(address.metricsAddress().getHostString()).isEqualTo("::1");
    assertThat(address.metricsAddress().getPort()).isEqualTo(9464);
    assertThat(expectedDefaults(file, SECRET).server().metricsAddress()).isNull();
    assertThatThrownBy(() -> ConfigLoader.load(bad, w -> {}, Map.of("HOME", home.toString())))
        .hasMessageContaining("metrics_address");
  }

  private KueueConfig expectedDefaults(Path file, String secret) {
    return new KueueConfig(
        file,
        new KueueConfig.Common(
            secret,
            "localhost",
            11236,
            "info",
            file.toAbsolutePath().getParent().resolve("server-key.pub")),
        new KueueConfig.Server(
            List.of("0.0.0.0", "[::]"),
            Duration.ofSeconds(20),
            Duration.ofSeconds(30),
            Duration.ofMinutes(2880),
            100,
            5,
            home.resolve(".local/share/kueue")),
        new KueueConfig.Worker(
            ConfigLoader.hostName(), 10, true, 1.0, Duration.ofSeconds(2), 1_048_576L),
        new KueueConfig.Client(1, 1024, null, Duration.ofSeconds(60)),
        new KueueConfig.RestartWorkers(
            null, List.of(), 60, KueueConfig.RestartWorkers.DEFAULT_WORKER_COMMAND),
        Map.of());
  }

  @Nested
  class TheTemplate {
    @Test
    void isWrittenOnFirstStartAndParsesBackToExactlyTheDefaults() throws Exception {
      KueueConfig config = load(null);

      Path file = home.resolve(".config/kueue/config.toml");
      assertThat(config.file()).isEqualTo(file);
      assertThat(config).isEqualTo(expectedDefaults(file, config.common().sharedSecret()));
      assertThat(warnings).singleElement().asString().contains("created").contains(file.toString());
    }

    @Test
    void isPrivateToTheOwnerAndSoIsItsNewDirectory() throws Exception {
      load(null);

      Path file = home.resolve(".config/kueue/config.toml");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
          .isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
          .isEqualTo("rwx------");
      try (var siblings = Files.list(file.getParent())) {
        assertThat(siblings).containsExactly(file);
      }
    }

    @Test
    void getsAFreshSecretOfAtLeast256BitsEachTime() throws Exception {
      String first = load(null).common().sharedSecret();
      Files.delete(home.resolve(".config/kueue/config.toml"));
      String second = load(null).common().sharedSecret();

      assertThat(first).matches("[A-Za-z0-9_-]{43,}");
      assertThat(second).matches("[A-Za-z0-9_-]{43,}");
      assertThat(first).isNotEqualTo(second);
    }

    @Test
    void aNamedFileThatDoesNotExistIsAnErrorAndIsNotCreated() {
      Path typo = home.resolve("typo.toml");

      assertThatThrownBy(() -> load(typo))
          .isInstanceOf(ConfigException.class)
          .hasMessage(
              typo
                  + ": no such configuration file (only the default one, "
                  + home.resolve(".config/kueue/config.toml")
                  + ", is created when missing)");
      assertThat(typo).doesNotExist();
      assertThat(home.resolve(".config/kueue/config.toml")).doesNotExist();
    }

    @Test
    void neverOverwritesAnExistingFile() throws Exception {
      String content = withSecret("server_port = 4000\n");
      Path file = write(content);

      load(file);
      load(file);

      assertThat(Files.readString(file)).isEqualTo(content);
    }

    @Test
    void isNotRewrittenOnTheSecondStart() throws Exception {
      String secret = load(null).common().sharedSecret();
      warnings.clear();

      assertThat(load(null).common().sharedSecret()).isEqualTo(secret);
      assertThat(warnings).isEmpty();
    }

    @Test
    void listsEverySettingOfEveryFixedSection() throws Exception {
      load(null);
      TomlParseResult toml = Toml.parse(home.resolve(".config/kueue/config.toml"));

      assertThat(toml.getTable("common").keySet())
          .containsExactlyInAnyOrder(
              "shared_secret",
              "server_name",
              "server_port",
              "log_level",
              "encryption",
              "server_key_file");
      assertThat(toml.getTable("server").keySet())
          .containsExactlyInAnyOrder(
              "address_bindings",
              "worker_timeout_seconds",
              "job_offer_timeout_seconds",
              "job_cleanup_after_minutes",
              "global_max_parallel_jobs",
              "job_max_attempts",
              "job_declined_timeout_minutes",
              "data_directory",
              "metrics_address");
      assertThat(toml.getTable("worker").keySet())
          .containsExactlyInAnyOrder(
              "worker_name",
              "worker_max_parallel_jobs",
              "dynamic_check_free_resources",
              "dynamic_cpu_load_scale_factor",
              "heartbeat_interval_seconds",
              "captured_output_max_bytes",
              "time_limit_grace_seconds",
              "gpus",
              "gpu_busy_memory_mb",
              "hide_unrequested_devices");
      assertThat(toml.getTable("client").keySet())
          .containsExactlyInAnyOrder(
              "job_default_cpus", "job_default_ram_mb", "job_default_time_limit");
    }

    @Test
    void commentsEverySetting() throws Exception {
      load(null);
      List<String> lines = Files.readAllLines(home.resolve(".config/kueue/config.toml"));

      for (int i = 0; i < lines.size(); i++) {
        if (lines.get(i).matches("[a-z_]+ = .*")) {
          assertThat(lines.get(i - 1)).as("comment above %s", lines.get(i)).startsWith("# ");
        }
      }
    }

    @Test
    void showsRestartWorkersAndGlobalResourcesAsExamplesThatWorkWhenUncommented() throws Exception {
      load(null);
      Path file = home.resolve(".config/kueue/config.toml");
      String text = Files.readString(file);
      Matcher examples =
          Pattern.compile(
                  "(?ms)^# (\\[restart_workers\\].*?)\\n\\n.*?^# (\\[global_resources\\].*)")
              .matcher(text);
      assertThat(examples.find()).isTrue();
      String uncommented =
          text
              + "\n"
              + examples.group(1).replaceAll("(?m)^# ?", "")
              + "\n"
              + examples.group(2).replaceAll("(?m)^# ?", "")
              + "\n";
      Files.writeString(file, uncommented);

      KueueConfig config = load(file);

      assertThat(config.restartWorkers().sshUser()).isNotBlank();
      assertThat(config.restartWorkers().hostnames()).hasSizeGreaterThan(1);
      assertThat(config.restartWorkers().sleepMinutesBeforeRecheck()).isEqualTo(60);
      assertThat(config.restartWorkers().workerCommand())
          .isEqualTo(KueueConfig.RestartWorkers.DEFAULT_WORKER_COMMAND);
      assertThat(config.globalResources()).containsEntry("genus", 3);
    }
  }

  @Nested
  class ThePath {
    @Test
    void isUnderXdgConfigHomeWhenThatIsSet() {
      Path xdg = home.resolve("xdg");
      assertThat(
              ConfigLoader.resolvePath(
                  null, Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", xdg.toString())))
          .isEqualTo(xdg.resolve("kueue/config.toml"));
    }

    @Test
    void ofTheCacheIsUnderXdgCacheHomeOrElseHomeDotCache() {
      Path xdg = home.resolve("xdg-cache");
      assertThat(
              ConfigLoader.cacheDirectory(
                  Map.of("HOME", home.toString(), "XDG_CACHE_HOME", xdg.toString())))
          .isEqualTo(xdg.resolve("kueue"));
      assertThat(ConfigLoader.cacheDirectory(env())).isEqualTo(home.resolve(".cache/kueue"));
      assertThat(
              ConfigLoader.cacheDirectory(
                  Map.of("HOME", home.toString(), "XDG_CACHE_HOME", "relative/dir")))
          .isEqualTo(home.resolve(".cache/kueue"));
    }

    @Test
    void isUnderHomeDotConfigWhenXdgConfigHomeIsUnsetEmptyOrRelative() {
      Path expected = home.resolve(".config/kueue/config.toml");
      assertThat(ConfigLoader.resolvePath(null, env())).isEqualTo(expected);
      assertThat(
              ConfigLoader.resolvePath(
                  null, Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", "")))
          .isEqualTo(expected);
      assertThat(
              ConfigLoader.resolvePath(
                  null, Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", "relative/dir")))
          .isEqualTo(expected);
    }

    @Test
    void isTheExplicitOneWhenGiven() {
      Path explicit = home.resolve("elsewhere/my.toml");
      assertThat(
              ConfigLoader.resolvePath(
                  explicit, Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", "/x")))
          .isEqualTo(explicit);
    }

    @Test
    void ofTheTemplateFollowsXdgConfigHome() throws Exception {
      Path xdg = home.resolve("xdg");
      KueueConfig config =
          ConfigLoader.load(
              null,
              warnings::add,
              Map.of("HOME", home.toString(), "XDG_CONFIG_HOME", xdg.toString()));

      assertThat(config.file()).isEqualTo(xdg.resolve("kueue/config.toml"));
      assertThat(xdg.resolve("kueue/config.toml")).isRegularFile();
    }
  }

  @Nested
  class TheDataDirectory {
    @Test
    void defaultsToXdgDataHome() throws Exception {
      Path file = write(withSecret(""));
      Path dataHome = home.resolve("data");
      KueueConfig config =
          ConfigLoader.load(
              file,
              warnings::add,
              Map.of("HOME", home.toString(), "XDG_DATA_HOME", dataHome.toString()));

      assertThat(config.server().dataDirectory()).isEqualTo(dataHome.resolve("kueue"));
    }

    @Test
    void expandsALeadingTildeToHome() throws Exception {
      KueueConfig config = loadText(withSecret("[server]\ndata_directory = \"~/kueue-data\"\n"));

      assertThat(config.server().dataDirectory()).isEqualTo(home.resolve("kueue-data"));
    }

    @Test
    void takesAnAbsolutePathAsIs() throws Exception {
      KueueConfig config = loadText(withSecret("[server]\ndata_directory = \"/var/tmp/kq\"\n"));

      assertThat(config.server().dataDirectory()).isEqualTo(Path.of("/var/tmp/kq"));
    }

    @Test
    void rejectsARelativePath() {
      assertThatThrownBy(() -> loadText(withSecret("[server]\ndata_directory = \"data\"\n")))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("[server] data_directory")
          .hasMessageContaining("absolute path");
    }
  }

  @Nested
  class Settings {
    @Test
    void thatAreMissingTakeTheirDefaults() throws Exception {
      Path file = write(withSecret(""));

      assertThat(load(file)).isEqualTo(expectedDefaults(file, SECRET));
      assertThat(warnings).isEmpty();
    }

    @Test
    void thatAreGivenOverrideTheDefaults() throws Exception {
      KueueConfig config =
          loadText(
              withSecret(
                  """
                  server_name = "ralab29"
                  server_port = 4000
                  log_level = "DEBUG"
                  [server]
                  address_bindings = "127.0.0.1"
                  worker_timeout_seconds = 7
                  global_max_parallel_jobs = 3
                  [worker]
                  worker_name = "big-box"
                  dynamic_check_free_resources = false
                  dynamic_cpu_load_scale_factor = 2
                  captured_output_max_bytes = 0
                  time_limit_grace_seconds = 5
                  [client]
                  job_default_cpus = 8
                  job_default_ram_mb = 8192
                  job_default_time_limit = "1-12:00:00"
                  [global_resources]
                  genus = 3
                  matlab = 1
                  """));

      assertThat(config.common().serverName()).isEqualTo("ralab29");
      assertThat(config.common().serverPort()).isEqualTo(4000);
      assertThat(config.common().logLevel()).isEqualTo("debug");
      assertThat(config.server().addressBindings()).containsExactly("127.0.0.1");
      assertThat(config.server().workerTimeout()).isEqualTo(Duration.ofSeconds(7));
      assertThat(config.server().globalMaxParallelJobs()).isEqualTo(3);
      assertThat(config.worker().workerName()).isEqualTo("big-box");
      assertThat(config.worker().dynamicCheckFreeResources()).isFalse();
      assertThat(config.worker().dynamicCpuLoadScaleFactor()).isEqualTo(2.0);
      assertThat(config.worker().capturedOutputMaxBytes()).isZero();
      assertThat(config.worker().timeLimitGrace()).isEqualTo(Duration.ofSeconds(5));
      assertThat(config.client())
          .as("the restart wait follows the worker timeout")
          .isEqualTo(new KueueConfig.Client(8, 8192, 36L * 3600, Duration.ofSeconds(21)));
      assertThat(config.globalResources())
          .containsOnly(Map.entry("genus", 3), Map.entry("matlab", 1));
      assertThat(warnings).isEmpty();
    }

    @Test
    void restartWorkersHostnamesMaySpanLines() throws Exception {
      KueueConfig config =
          loadText(
              withSecret(
                  """
                  [restart_workers]
                  ssh_user = "klemmefn"
                  hostnames = \"""
                  rax11   rax17
                  ralab04\tralab06
                  \"""
                  sleep_minutes_before_recheck = 15
                  worker_command = "/opt/kueue/bin/kueue_worker -c ~/kueue.toml"
                  """));

      assertThat(config.restartWorkers())
          .isEqualTo(
              new KueueConfig.RestartWorkers(
                  "klemmefn",
                  List.of("rax11", "rax17", "ralab04", "ralab06"),
                  15,
                  "/opt/kueue/bin/kueue_worker -c ~/kueue.toml"));
    }

    @Test
    void workerDevicesAreReadWithTheirVariables() throws Exception {
      KueueConfig config =
          loadText(
              withSecret(
                  "[worker]\ngpus = \"0, 2\"\ngpu_busy_memory_mb = 500\n"
                      + "hide_unrequested_devices = false\n"
                      + "[worker.resources]\n"
                      + "amd = { count = 2, variable = \"HIP_VISIBLE_DEVICES\" }\n"
                      + "scope = { indices = \"3,5\", variable = \"SCOPES\" }\n"));

      assertThat(config.worker().devices())
          .isEqualTo(
              new KueueConfig.Devices(
                  "0, 2",
                  500,
                  false,
                  Map.of(
                      "amd",
                      new KueueConfig.DeclaredResource(List.of(0, 1), "HIP_VISIBLE_DEVICES"),
                      "scope",
                      new KueueConfig.DeclaredResource(List.of(3, 5), "SCOPES"))));
    }

    @Test
    void badDeviceSettingsAreErrors() throws Exception {
      for (String bad :
          List.of(
              "[worker]\ngpus = \"all\"\n",
              "[worker.resources]\ngpus = { count = 1, variable = \"X\" }\n",
              "[worker.resources]\nx = { count = 0, variable = \"X\" }\n",
              "[worker.resources]\nx = { count = 1 }\n",
              "[worker.resources]\nx = { count = 1, indices = \"0\", variable = \"X\" }\n")) {
        assertThatThrownBy(() -> loadText(withSecret(bad)))
            .as(bad)
            .isInstanceOf(ConfigException.class);
      }
    }

    @Test
    void anEmptyWorkerNameMeansTheHostName() throws Exception {
      KueueConfig config = loadText(withSecret("[worker]\nworker_name = \"\"\n"));

      assertThat(config.worker().workerName()).isNotBlank().isEqualTo(ConfigLoader.hostName());
    }
  }

  @Nested
  class Errors {
    @Test
    void aMissingSharedSecretInAnExistingFileIsAnError() throws Exception {
      Path file = write("[common]\nserver_port = 4000\n");

      assertThatThrownBy(() -> load(file))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining("[common] shared_secret is missing");
    }

    @Test
    void malformedTomlNamesTheFileAndTheLine() throws Exception {
      Path file = write(withSecret("server_port = = 3\n"));

      assertThatThrownBy(() -> load(file))
          .isInstanceOf(ConfigException.class)
          .hasMessageStartingWith(file + ":3: malformed TOML")
          .hasMessageNotContaining("\n");
    }

    @Test
    void aWrongTypeNamesTheFileTheKeyAndTheExpectation() throws Exception {
      Path file = write(withSecret("server_port = \"4000\"\n"));

      assertThatThrownBy(() -> load(file))
          .isInstanceOf(ConfigException.class)
          .hasMessage(
              file
                  + ":3: [common] server_port: expected a whole number from 1 to 65535 but found"
                  + " \"4000\"");
    }

    @Test
    void aValueOutOfRangeNamesTheRange() throws Exception {
      assertThatThrownBy(() -> loadText(withSecret("server_port = 70000\n")))
          .hasMessageEndingWith(
              "[common] server_port: expected a whole number from 1 to 65535 but found integer"
                  + " 70000");
      assertThatThrownBy(() -> loadText(withSecret("[server]\nworker_timeout_seconds = 0\n")))
          .hasMessageContaining("[server] worker_timeout_seconds: expected a whole number >= 1");
      assertThatThrownBy(
              () -> loadText(withSecret("[worker]\ndynamic_cpu_load_scale_factor = -1.5\n")))
          .hasMessageContaining("[worker] dynamic_cpu_load_scale_factor: expected a number");
    }

    @Test
    void aSecretThatCanBeGuessedIsRefusedWithHowToGenerateOne() throws Exception {
      Path file = write("[common]\nshared_secret = \"CorrectHorseBatteryStaple2024!\"\n");

      assertThatThrownBy(() -> load(file))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(file + ": [common] shared_secret is too easy to guess")
          .hasMessageContaining("kueue generate-secret")
          .hasMessageNotContaining("CorrectHorse");
    }

    @Test
    void encryptionIsTlsUnlessTheFileSaysNone() throws Exception {
      assertThat(loadText(withSecret("")).common().encryption())
          .isEqualTo(KueueConfig.Encryption.TLS);
      assertThat(loadText(withSecret("encryption = \"tls\"\n")).common().encrypted()).isTrue();
      assertThat(loadText(withSecret("encryption = \"none\"\n")).common().encryption())
          .isEqualTo(KueueConfig.Encryption.NONE);
    }

    @Test
    void theServerKeyPinLiesNextToTheConfigUnlessTheFileNamesAnother() throws Exception {
      Path file = write(withSecret(""));
      Path directory = file.toAbsolutePath().getParent();

      assertThat(load(file).common().serverKeyFile())
          .isEqualTo(directory.resolve("server-key.pub"));
      assertThat(
              loadText(withSecret("server_key_file = \"keys/lab.pub\"\n")).common().serverKeyFile())
          .isEqualTo(directory.resolve("keys/lab.pub"));
      assertThat(loadText(withSecret("server_key_file = \"~/lab.pub\"\n")).common().serverKeyFile())
          .isEqualTo(home.resolve("lab.pub"));
      assertThat(
              loadText(withSecret("server_key_file = \"/etc/kueue.pub\"\n"))
                  .common()
                  .serverKeyFile())
          .isEqualTo(Path.of("/etc/kueue.pub"));
    }

    @Test
    void anUnknownEncryptionNamesBothChoices() {
      assertThatThrownBy(() -> loadText(withSecret("encryption = \"off\"\n")))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("[common] encryption: expected \"tls\" (the default) or \"none\"")
          .hasMessageContaining("\"off\"");
      assertThatThrownBy(() -> loadText(withSecret("encryption = false\n")))
          .hasMessageContaining("[common] encryption: expected a string");
    }

    @Test
    void anUnknownLogLevelListsTheValidOnes() {
      assertThatThrownBy(() -> loadText(withSecret("log_level = \"verbose\"\n")))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(
              "[common] log_level: expected one of trace, debug, info, warn, error");
    }

    @Test
    void aBooleanInQuotesIsAnError() {
      assertThatThrownBy(
              () -> loadText(withSecret("[worker]\ndynamic_check_free_resources = \"yes\"\n")))
          .hasMessageContaining("[worker] dynamic_check_free_resources: expected true or false");
    }

    @Test
    void aGlobalResourceMustBeAPositiveWholeNumber() {
      assertThatThrownBy(() -> loadText(withSecret("[global_resources]\ngenus = 0\n")))
          .hasMessageContaining("[global_resources] genus: expected a whole number >= 1");
      assertThatThrownBy(() -> loadText(withSecret("[global_resources]\ngenus = \"three\"\n")))
          .hasMessageContaining("[global_resources] genus: expected a whole number >= 1");
    }

    @Test
    void aSectionThatIsNotATableIsAnError() {
      assertThatThrownBy(() -> loadText("worker = 3\n" + withSecret("")))
          .hasMessageContaining("worker is an integer; expected a section [worker]");
    }

    @Test
    void anUnreadableFileIsAnError() throws Exception {
      Path directoryInsteadOfFile = Files.createDirectory(home.resolve("config.toml"));

      assertThatThrownBy(() -> load(directoryInsteadOfFile))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("cannot read the configuration file " + directoryInsteadOfFile);
    }

    @Test
    void aTemplateThatCannotBeCreatedIsAnError() throws Exception {
      // The default file's directory is taken by a file.
      Files.writeString(home.resolve(".config"), "");

      assertThatThrownBy(() -> load(null))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("cannot create the configuration file");
    }
  }

  @Nested
  class Warnings {
    @Test
    void nameAnUnknownKeyAndTheFile() throws Exception {
      Path file = write(withSecret("serverport = 1\n[worker]\nmax_jobs = 3\n[extras]\na = 1\n"));

      load(file);

      assertThat(warnings)
          .containsExactlyInAnyOrder(
              "unknown setting [common] serverport in " + file + " (ignored)",
              "unknown setting [worker] max_jobs in " + file + " (ignored)",
              "unknown setting extras in " + file + " (ignored)");
    }

    @Test
    void aFileReadableByOthersIsRefusedWithHowToFixIt() throws Exception {
      Path file = write(withSecret(""));
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));

      assertThatThrownBy(() -> load(file))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("can be read by other users (rw-r-----)")
          .hasMessageContaining("chmod 600 " + file)
          .hasMessageContaining("allow_readable_config = true");
    }

    @Test
    void aFileReadableByOthersIsAcceptedWithAWarningWhenTheFileSaysSo() throws Exception {
      Path file = write(withSecret("allow_readable_config = true\n"));
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

      load(file);

      assertThat(warnings)
          .singleElement()
          .asString()
          .contains(file.toString())
          .contains("chmod 600 " + file);
    }
  }

  @Nested
  class TheSecret {
    @Test
    void neverAppearsInTheConfigsTextForm() throws Exception {
      KueueConfig config = loadText(withSecret(""));

      assertThat(config.toString()).doesNotContain(SECRET);
      assertThat(config.common().toString()).doesNotContain(SECRET);
    }

    @Test
    void neverAppearsInAnErrorAboutIt() {
      assertThatThrownBy(() -> loadText("[common]\nshared_secret = 123456789\n"))
          .hasMessageContaining("[common] shared_secret: expected a string")
          .hasMessageNotContaining("123456789");
    }
  }
}
