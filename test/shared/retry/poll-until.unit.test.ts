import { describe, expect, it } from 'vitest';
import { PollTimeoutError, pollUntil } from '../../../shared/retry/poll-until.js';

describe('pollUntil', () => {
  it('resolves with the first value that is not false or undefined; a throwing probe means "not yet"', async () => {
    let calls = 0;
    const value = await pollUntil(
      () => {
        calls++;
        if (calls === 1) throw new Error('still starting');
        return calls < 4 ? false : { ready: calls };
      },
      { what: 'the thing', timeoutMs: 5_000, intervalMs: 1 },
    );
    expect(value).toEqual({ ready: 4 });
  });

  it('times out with what it waited for and the last error as the cause', async () => {
    const error = await pollUntil(
      () => {
        throw new Error('connection refused');
      },
      { what: 'Kafka', timeoutMs: 50, intervalMs: 10 },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PollTimeoutError);
    expect((error as PollTimeoutError).message).toBe('Kafka did not become ready within 0.05 s');
    expect(((error as PollTimeoutError).cause as Error).message).toBe('connection refused');
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled')), 20);
    await expect(pollUntil(() => false, { what: 'never', timeoutMs: 60_000, intervalMs: 5, signal: controller.signal })).rejects.toThrow(
      'cancelled',
    );
  });
});
