package kueue.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EscapedMessageConverterTest {

  @Test
  void controlCharactersAndLineBreaksBecomeVisibleEscapes() {
    assertThat(EscapedMessageConverter.escape("role\n12:00:00.000 INFO  forged"))
        .isEqualTo("role\\n12:00:00.000 INFO  forged");
    assertThat(EscapedMessageConverter.escape("a\rb\u0000c\u001b[2Jd\u007fe\u0085f\u2028g\u2029h"))
        .isEqualTo("a\\rb\\u0000c\\u001b[2Jd\\u007fe\\u0085f\\u2028g\\u2029h");
  }

  @Test
  void ordinaryTextTabsAndOtherScriptsStayAsTheyAre() {
    String text = "job 7\tattempt 2: exit code 1 (日本語, é, \uD83D\uDE00)";
    assertThat(EscapedMessageConverter.escape(text)).isSameAs(text);
    assertThat(EscapedMessageConverter.escape(null)).isNull();
  }

  @Test
  void theShippedConfigurationWritesOneLinePerEventWhateverTheArgumentsHold() throws Exception {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(new LogbackMDCAdapter());
    try {
      JoranConfigurator configurator = new JoranConfigurator();
      configurator.setContext(context);
      configurator.doConfigure(getClass().getResource("/logback.xml"));
      Logger log = context.getLogger("Connection");
      log.info("hello from {}", "client\n00:00:00.000 INFO  KueueServer - forged");
    } finally {
      context.stop();
      System.setErr(original);
    }
    String output = captured.toString(StandardCharsets.UTF_8);
    assertThat(output.lines()).hasSize(1);
    assertThat(output).contains("hello from client\\n00:00:00.000 INFO  KueueServer - forged");
  }
}
