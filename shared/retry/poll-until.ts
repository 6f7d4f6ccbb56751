import { TransientError, type ErrorCode } from '../errors.js';
import { abortableSleep } from './retrying.js';

/** A condition polled for did not hold in time; `cause` is the probe's last error, if it threw. */
export class PollTimeoutError extends TransientError {
  override readonly code: string = 'POLL_TIMEOUT' satisfies ErrorCode;

  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(`${what} did not become ready within ${timeoutMs / 1000} s`, options);
  }
}

export interface PollOptions {
  /** Names the condition in the timeout error. */
  what: string;
  timeoutMs: number;
  /**
   * Pause between probes.
   * @defaultValue 200
   */
  intervalMs?: number;
  /** Aborting stops polling and throws the abort reason. */
  signal?: AbortSignal;
}

/**
 * Probes until it returns something other than false/undefined, and resolves with that. A probe that
 * throws counts as "not yet" (the thing polled for is typically still starting).
 */
export async function pollUntil<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, options: PollOptions): Promise<T> {
  const { intervalMs = 200, signal } = options;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const result = await probe();
      if (result !== false && result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) throw new PollTimeoutError(options.what, options.timeoutMs, { cause: lastError });
    await abortableSleep(Math.min(intervalMs, Math.max(deadline - Date.now(), 0)), signal);
  }
}
