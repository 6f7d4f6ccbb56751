import { describe, expect, it } from 'vitest';
import { retrying, type RetryWait } from '../../../shared/retry/retrying.js';

class Flaky extends Error {}
class Fatal extends Error {}

/** Fails `failures` times with `error`, then answers the attempt number. */
function failing(failures: number, error: () => Error = () => new Flaky('not yet')) {
  let calls = 0;
  const fn = async (attempt: number) => {
    calls++;
    if (calls <= failures) throw error();
    return attempt;
  };
  return { fn, calls: () => calls };
}

describe('retrying', () => {
  it('retries until the call succeeds, announcing each pause with its growing delay', async () => {
    const { fn } = failing(3);
    const waits: RetryWait[] = [];
    const slept: number[] = [];
    const result = await retrying(fn, {
      backoff: { initialMs: 10, maxMs: 25 },
      onWait: (wait) => waits.push(wait),
      wait: async (ms) => void slept.push(ms),
    });
    expect(result).toBe(4);
    expect(waits.map((w) => [w.attempt, w.delayMs])).toEqual([
      [1, 10],
      [2, 20],
      [3, 25],
    ]);
    expect(slept).toEqual([10, 20, 25]);
    expect(waits[0]!.error).toBeInstanceOf(Flaky);
  });

  it('throws a non-retriable error at once', async () => {
    const { fn, calls } = failing(5, () => new Fatal('no'));
    await expect(retrying(fn, { isRetriable: (e) => !(e instanceof Fatal), wait: async () => undefined })).rejects.toBeInstanceOf(Fatal);
    expect(calls()).toBe(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { fn, calls } = failing(10);
    await expect(retrying(fn, { maxAttempts: 3, wait: async () => undefined })).rejects.toBeInstanceOf(Flaky);
    expect(calls()).toBe(3);
  });

  it('an abort ends a pause at once and throws the abort reason', async () => {
    const controller = new AbortController();
    const { fn, calls } = failing(10);
    const started = Date.now();
    const run = retrying(fn, { signal: controller.signal, backoff: { initialMs: 60_000 } });
    setTimeout(() => controller.abort(new Error('stopping')), 20);
    await expect(run).rejects.toThrow('stopping');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(calls()).toBe(1);
  });

  it('an aborted signal stops before the first call', async () => {
    const { fn, calls } = failing(0);
    await expect(retrying(fn, { signal: AbortSignal.abort() })).rejects.toBeDefined();
    expect(calls()).toBe(0);
  });
});
