import { describe, expect, it } from 'vitest';
import { loadServiceConfig } from '../../../services/webhooks/config.js';
import { nextDelayMs, parseRetryAfter, parseSchedule, svixSchedule } from '../../../services/webhooks/retry-schedule.js';

describe('webhook retry schedule', () => {
  it('defaults to Svix: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(parseSchedule(svixSchedule)).toEqual([0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(parseSchedule('0, 250ms, 2s')).toEqual([0, 250, 2000]);
    expect(() => parseSchedule('5 minutes')).toThrow(/not a delay/);
  });

  const policy = { scheduleMs: parseSchedule(svixSchedule), retryAfterCapMs: 3_600_000 };

  it('waits the next step after each attempt, ±10 %, and nothing is left after the last', () => {
    expect(nextDelayMs(policy, 1, undefined, () => 0.5)).toBe(5000);
    expect(nextDelayMs(policy, 1, undefined, () => 0)).toBe(4500);
    expect(nextDelayMs(policy, 1, undefined, () => 1)).toBe(5500);
    expect(nextDelayMs(policy, 7, undefined, () => 0.5)).toBe(36_000_000);
    expect(nextDelayMs(policy, 8)).toBeUndefined();
  });

  it("honours Retry-After: the longer of ours and theirs, theirs capped", () => {
    expect(nextDelayMs(policy, 1, 60_000, () => 0.5)).toBe(60_000);
    expect(nextDelayMs(policy, 1, 1000, () => 0.5)).toBe(5000);
    expect(nextDelayMs(policy, 1, 86_400_000, () => 0.5)).toBe(3_600_000);
    expect(nextDelayMs(policy, 6, 86_400_000, () => 0.5)).toBe(36_000_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('webhooks configuration', () => {
  const base = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081', DATABASE_URL: 'postgres://u:p@127.0.0.1/db' };

  it('defaults to the Svix schedule, 15 s and no private network; names a bad variable', () => {
    const config = loadServiceConfig(base);
    expect(config.retrySchedule).toEqual(parseSchedule(svixSchedule));
    expect(config.timeoutMs).toBe(15_000);
    expect(config.allowedNetworks).toEqual([]);
    expect(loadServiceConfig({ ...base, WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128' }).allowedNetworks).toHaveLength(2);
    expect(() => loadServiceConfig({ ...base, WEBHOOK_ALLOWED_NETWORKS: 'loopback' })).toThrow(/WEBHOOK_ALLOWED_NETWORKS/);
    expect(() => loadServiceConfig({ ...base, WEBHOOK_RETRY_SCHEDULE: '0,soon' })).toThrow(/WEBHOOK_RETRY_SCHEDULE/);
  });
});
