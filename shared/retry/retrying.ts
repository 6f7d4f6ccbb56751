import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, type BackoffOptions } from './backoff.js';

export interface RetryWait {
  error: unknown;
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
}

export interface RetryingOptions {
  /** Aborting stops at once: a pending pause ends and the abort reason is thrown. */
  signal?: AbortSignal;
  /**
   * Whether an error deserves another attempt; any other error is thrown at once.
   * @defaultValue every error is retried
   */
  isRetriable?: (error: unknown) => boolean;
  /** Called before each pause (to log it). */
  onWait?: (wait: RetryWait) => void;
  /** @defaultValue the Backoff defaults (200 ms doubling to 5 s, no jitter) */
  backoff?: BackoffOptions;
  /**
   * Attempts in all; the last one's error is thrown.
   * @defaultValue unlimited
   */
  maxAttempts?: number;
  /**
   * How a pause is spent, for a caller with work to do meanwhile (heartbeats); it may throw to give up.
   * @defaultValue a plain sleep that the signal cuts short
   */
  wait?: (delayMs: number) => Promise<void>;
}

/** Sleeps, or throws the signal's reason as soon as it aborts. */
export async function abortableSleep(delayMs: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(delayMs, undefined, { signal });
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  }
}

/** Calls `fn` until it resolves, pausing with exponential backoff after each retriable failure. */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, options: RetryingOptions = {}): Promise<T> {
  const { signal, isRetriable = () => true, maxAttempts = Infinity } = options;
  const backoff = new Backoff(options.backoff);
  const wait = options.wait ?? ((delayMs: number) => abortableSleep(delayMs, signal));
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      signal?.throwIfAborted();
      if (attempt >= maxAttempts || !isRetriable(error)) throw error;
      const delayMs = backoff.next();
      options.onWait?.({ error, attempt, delayMs });
      await wait(delayMs);
    }
  }
}
