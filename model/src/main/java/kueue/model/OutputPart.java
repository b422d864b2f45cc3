package kueue.model;

import java.util.List;

/**
 * What is new in the output of one job since a reader's {@link OutputCursor}.
 *
 * @param attempt the attempt the pieces belong to; 0 while the job has not been offered yet
 * @param job the job as it is now
 * @param pieces in the order they were written, as well as the worker can tell
 * @param stdoutNext where the reader stands in stdout after these pieces (its next stdoutFrom)
 * @param stderrNext the same for stderr
 * @param complete nothing more will come of this attempt: it has ended and everything that is kept
 *     of it has been given; the job has ended too, or a next attempt follows
 */
public record OutputPart(
    long jobId,
    int attempt,
    JobSummary job,
    List<OutputPiece> pieces,
    long stdoutNext,
    long stderrNext,
    boolean complete) {}
