/**
 * Whether a consumer member still gets work done. A member that holds fetched messages it has not
 * finished (a batch in flight) and has completed nothing for `stallAfterMs` is stalled: its
 * heartbeats keep its partitions in the group while nobody consumes them, which only a restart
 * ends. An idle member (nothing fetched, nothing in flight) is live however long it waits.
 * Progress is any handler call settling (done or failed), a batch finishing, or a batch handler
 * heartbeating on purpose (handler-deadline.ts).
 */
export class Liveness {
  private inFlight = 0;
  private lastProgressAt: number;

  constructor(
    private readonly stallAfterMs: number,
    /** Milliseconds on a monotonic clock: the handler deadline passes performance.now() readings to progress(). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastProgressAt = now();
  }

  /** A fetched batch with messages is being handled. */
  batchStarted(): void {
    // The stall clock starts with the work: an idle hour before it is no stall.
    if (this.inFlight++ === 0) this.lastProgressAt = this.now();
  }

  batchSettled(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.progress();
  }

  /** `at`: the time on this clock, when the caller has just read it. */
  progress(at = this.now()): void {
    this.lastProgressAt = at;
  }

  isLive(): boolean {
    return this.inFlight === 0 || this.now() - this.lastProgressAt < this.stallAfterMs;
  }

  /** For the log line and the metric of a stalled member. */
  stalledForMs(): number {
    return this.inFlight === 0 ? 0 : this.now() - this.lastProgressAt;
  }
}
