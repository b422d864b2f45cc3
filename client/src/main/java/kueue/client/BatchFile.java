package kueue.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import kueue.model.BatchEntry;
import kueue.protocol.Message;

/**
 * The commands of {@code kueue cmd --file}: one job per line that is neither blank nor a comment
 * (first non-blank character {@code #}). Each line runs as {@code /bin/sh -c LINE}, as a line of a
 * shell script would, so pipes, redirections and variables such as {@code $KUEUE_ARRAY_INDEX} work.
 * The line number (from 1) is the job's array index.
 */
final class BatchFile {
  static final List<String> SHELL = List.of("/bin/sh", "-c");

  /** Linux passes at most this many bytes in one argument (MAX_ARG_STRLEN minus its NUL). */
  static final int MAX_LINE_BYTES = 128 * 1024 - 1;

  private BatchFile() {}

  /**
   * Reads the commands; name is how errors refer to the input (the file name, or "stdin").
   *
   * @throws IllegalArgumentException naming the line, for input that cannot become jobs
   */
  static List<BatchEntry> read(InputStream input, String name) throws IOException {
    CharsetDecoder strictUtf8 =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    List<BatchEntry> entries = new ArrayList<>();
    long lineNumber = 0;
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(input, strictUtf8))) {
      String line;
      while (true) {
        try {
          line = reader.readLine();
        } catch (CharacterCodingException e) {
          throw new IllegalArgumentException(
              name + " line " + (lineNumber + 1) + " is not valid UTF-8 text");
        }
        if (line == null) {
          break;
        }
        lineNumber++;
        if (line.endsWith("\r")) {
          line = line.substring(0, line.length() - 1);
        }
        if (line.isBlank() || line.strip().startsWith("#")) {
          continue;
        }
        if (line.indexOf('\0') >= 0) {
          throw new IllegalArgumentException(
              name + " line " + lineNumber + " contains a NUL byte, which no command can hold");
        }
        if (line.length() > MAX_LINE_BYTES / 3
            && line.getBytes(StandardCharsets.UTF_8).length > MAX_LINE_BYTES) {
          throw new IllegalArgumentException(
              name
                  + " line "
                  + lineNumber
                  + " is longer than "
                  + MAX_LINE_BYTES
                  + " bytes, the most Linux passes to a program");
        }
        if (entries.size() == Message.MAX_JOBS_PER_SUBMIT) {
          throw new IllegalArgumentException(
              name
                  + " has more than "
                  + Message.MAX_JOBS_PER_SUBMIT
                  + " commands, the most one submission may have; split it");
        }
        List<String> argv = new ArrayList<>(SHELL);
        argv.add(line);
        entries.add(new BatchEntry(lineNumber, argv));
      }
    }
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(
          name + " has no commands (only blank lines and # comments)");
    }
    return entries;
  }
}
