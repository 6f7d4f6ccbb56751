/**
 * When a failed delivery is attempted again: like Svix, immediately, then 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h and 10 h later, each ±10 % so endpoints recovering from an outage are not hit by every
 * retry at once. A 429 or 503 with Retry-After waits at least what the endpoint asks, capped.
 */
export const svixSchedule = '0,5s,5m,30m,2h,5h,10h,10h';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `0,5s,5m,…` into delays in ms (a bare number is ms); throws on anything else. */
export function parseSchedule(text: string): number[] {
  const delays = text.split(',').map((part) => {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(part.trim());
    if (!match) throw new Error(`"${part.trim()}" is not a delay such as 500ms, 5s, 5m or 2h`);
    return Number(match[1]) * units[match[2] ?? 'ms']!;
  });
  if (delays.length === 0) throw new Error('the schedule needs at least one attempt');
  return delays;
}

export interface RetryPolicy {
  /** The delay before each attempt, the first one's included; its length is the number of attempts. */
  scheduleMs: readonly number[];
  /** The longest Retry-After honoured. */
  retryAfterCapMs: number;
  /** @defaultValue 0.1 (±10 %) */
  jitter?: number;
}

/**
 * The delay before the next attempt after `attemptsDone` attempts, or undefined when none is left
 * (the delivery is dead-lettered). `retryAfterMs` is the endpoint's own wish (429/503).
 */
export function nextDelayMs(policy: RetryPolicy, attemptsDone: number, retryAfterMs?: number, random: () => number = Math.random): number | undefined {
  const planned = policy.scheduleMs[attemptsDone];
  if (planned === undefined) return undefined;
  const jitter = policy.jitter ?? 0.1;
  const ours = Math.round(planned * (1 + jitter * (2 * random() - 1)));
  return Math.max(ours, Math.min(retryAfterMs ?? 0, policy.retryAfterCapMs));
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
