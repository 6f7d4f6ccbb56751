import { describe, expect, it } from 'vitest';
import { keyHash, longestRetryPathMs, staleKeyHeadMs } from '../../../shared/consumer/key-order.js';
import { defaultRetryPolicy } from '../../../shared/kafka/topology.js';

describe('key order bounds', () => {
  it('the longest retry path adds every tier delay, capped at the maximum, without jitter', () => {
    // 1 + 2 + 4 + 8 + 16 + 32 s.
    expect(longestRetryPathMs(defaultRetryPolicy)).toBe(63_000);
    expect(longestRetryPathMs({ ...defaultRetryPolicy, attempts: 9 })).toBe(63_000 + 60_000 + 60_000);
    expect(longestRetryPathMs({ ...defaultRetryPolicy, attempts: 1 })).toBe(0);
  });

  it('a queued message unseen for 10 times that is lost', () => {
    expect(staleKeyHeadMs(defaultRetryPolicy)).toBe(630_000);
  });

  it('names a key by a short hash, never the key', () => {
    expect(keyHash('ord-123')).toMatch(/^[0-9a-f]{16}$/);
    expect(keyHash('ord-123')).toBe(keyHash('ord-123'));
    expect(keyHash('ord-124')).not.toBe(keyHash('ord-123'));
  });
});
