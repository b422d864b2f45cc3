package kueue.model;

/**
 * The states of a job, with what each means to the rest of the system. The moves between them are
 * in {@link JobTransition}; together the two are the one definition of a job's life, which the
 * scheduler enforces and the store's SQL is checked against (see the checklist "adding a job state"
 * in ARCHITECTURE.md).
 */
public enum JobState {
  //       terminal  on a worker  list category (FINISHED: by exit code)
  PENDING(false, false, JobFilter.PENDING),
  /** Kept out of placement until a user releases it ({@code kueue release}). */
  HELD(false, false, JobFilter.HELD),
  /** Kept out of placement until the jobs it depends on have ended as it requires. */
  WAITING(false, false, JobFilter.WAITING),
  OFFERED(false, true, JobFilter.OFFERED),
  RUNNING(false, true, JobFilter.RUNNING),
  FINISHED(true, false, JobFilter.SUCCEEDED, JobFilter.FAILED),
  CANCELED(true, false, JobFilter.CANCELED),
  /** Stopped by its worker after running for its time limit. */
  TIMED_OUT(true, false, JobFilter.TIMED_OUT);

  private final boolean terminal;
  private final boolean onWorker;
  private final JobFilter category;
  private final JobFilter categoryUnlessExitZero;

  JobState(boolean terminal, boolean onWorker, JobFilter category) {
    this(terminal, onWorker, category, category);
  }

  /**
   * A state whose list category depends on the exit code: category when the job exited with 0,
   * categoryUnlessExitZero otherwise (another code, a signal, or no result at all).
   */
  JobState(
      boolean terminal, boolean onWorker, JobFilter category, JobFilter categoryUnlessExitZero) {
    this.terminal = terminal;
    this.onWorker = onWorker;
    this.category = category;
    this.categoryUnlessExitZero = categoryUnlessExitZero;
  }

  /**
   * The job has ended: the scheduler forgets it and the store keeps its row. Only a user's {@code
   * kueue requeue} ({@link JobTransition#RERUN}) brings it back.
   */
  public boolean isTerminal() {
    return terminal;
  }

  /** True while a worker holds (or is being asked to hold) the job. */
  public boolean isOnWorker() {
    return onWorker;
  }

  /**
   * The {@code list-jobs} filter that shows a job in this state with this exit code (null when it
   * has none); the store's {@code category} column and its counts per category hold the same.
   */
  public JobFilter category(Integer exitCode) {
    return exitCode != null && exitCode == 0 ? category : categoryUnlessExitZero;
  }

  /** Whether {@link #category} depends on the exit code. */
  public boolean categoryDependsOnExitCode() {
    return category != categoryUnlessExitZero;
  }
}
