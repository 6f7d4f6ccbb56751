/** How the pause between attempts grows. */
export interface BackoffOptions {
  /**
   * The first pause.
   * @defaultValue 200
   */
  initialMs?: number;
  /**
   * No pause is longer than this.
   * @defaultValue 5000
   */
  maxMs?: number;
  /**
   * Each pause is this many times the one before (until maxMs).
   * @defaultValue 2
   */
  factor?: number;
  /**
   * Up to this fraction of each pause is taken off at random, so that instances failing together
   * do not retry together. 0 keeps pauses exact.
   * @defaultValue 0
   */
  jitter?: number;
}

/** min(initial * factor^(attempt-1), max), less up to `jitter` of it; `attempt` counts from 1. */
export function backoffDelay(options: BackoffOptions, attempt: number, random: () => number = Math.random): number {
  const { initialMs = 200, maxMs = 5000, factor = 2, jitter = 0 } = options;
  const capped = Math.min(initialMs * factor ** Math.max(attempt - 1, 0), maxMs);
  return Math.round(capped * (1 - jitter * random()));
}

/** The pauses of one run of failures: next() grows them, reset() starts over after a success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** The pause before the next attempt. */
  next(): number {
    this.failures++;
    return backoffDelay(this.options, this.failures, this.random);
  }

  reset(): void {
    this.failures = 0;
  }
}
