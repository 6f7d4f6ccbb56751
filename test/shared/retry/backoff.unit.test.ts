import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../../shared/consumer/failure-router.js';
import { retryPolicyOf } from '../../../shared/kafka/topology.js';
import { Backoff, backoffDelay } from '../../../shared/retry/backoff.js';

describe('backoff', () => {
  it('grows by the factor from the initial delay up to the maximum', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay({ initialMs: 100, maxMs: 1000, factor: 3 }, attempt));
    expect(delays).toEqual([100, 300, 900, 1000, 1000, 1000]);
  });

  it('defaults to 200 ms doubling up to 5 s, without jitter', () => {
    expect([1, 2, 5, 6, 10].map((attempt) => backoffDelay({}, attempt))).toEqual([200, 400, 3200, 5000, 5000]);
  });

  it('takes up to the jitter fraction off each delay', () => {
    expect(backoffDelay({ initialMs: 1000, jitter: 0.2 }, 1, () => 0)).toBe(1000);
    expect(backoffDelay({ initialMs: 1000, jitter: 0.2 }, 1, () => 0.5)).toBe(900);
    expect(backoffDelay({ initialMs: 1000, jitter: 0.2 }, 1, () => 0.999_999)).toBe(800);
  });

  it('counts failures until reset', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 50 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([10, 20, 40, 50]);
    backoff.reset();
    expect(backoff.next()).toBe(10);
  });

  it('keeps the failure router delays: min(base * 2^(n-1), max) less up to jitterRatio of it', () => {
    const policy = retryPolicyOf({ groupId: 'g', topics: [], retry: { baseDelayMs: 1000, maxDelayMs: 8000, jitterRatio: 0.5 } });
    for (let retry = 1; retry <= 6; retry++) {
      for (const r of [0, 0.25, 0.9]) {
        const capped = Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.maxDelayMs);
        expect(backoffDelayMs(policy, retry, () => r)).toBe(Math.round(capped * (1 - policy.jitterRatio * r)));
      }
    }
  });
});
