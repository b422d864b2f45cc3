package kueue.model;

/**
 * The captured output kept of one attempt of a job.
 *
 * @param attempt the attempt it belongs to (1 = the first)
 */
public record AttemptOutput(int attempt, CapturedOutput stdout, CapturedOutput stderr) {
  public AttemptOutput {
    stdout = stdout == null ? CapturedOutput.EMPTY : stdout;
    stderr = stderr == null ? CapturedOutput.EMPTY : stderr;
  }
}
