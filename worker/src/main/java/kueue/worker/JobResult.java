package kueue.worker;

import kueue.model.CapturedOutput;
import kueue.model.JobOutcome;

/**
 * How one attempt ended, with its captured output (empty for streams sent to a file or discarded).
 */
public record JobResult(JobOutcome outcome, CapturedOutput stdout, CapturedOutput stderr) {}
