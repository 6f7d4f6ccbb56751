import { afterEach, describe, expect, it, vi } from 'vitest';
import { DueGate, retryDueAt } from '../../../shared/consumer/due-gate.js';

interface Msg {
  id: number;
  due: number;
}

function gate(now: number) {
  return new DueGate<Msg>({ dueAt: (m) => m.due, now: () => now });
}

function pauser() {
  const calls: { until: number[]; resumed: number } = { until: [], resumed: 0 };
  const pause = (until: number) => {
    calls.until.push(until);
    return () => calls.resumed++;
  };
  return { calls, pause };
}

afterEach(() => vi.useRealTimers());

describe('due gate', () => {
  it('passes a batch whose messages are all due, without pausing', () => {
    const { calls, pause } = pauser();
    const messages = [
      { id: 1, due: 900 },
      { id: 2, due: 1000 },
    ];
    expect(gate(1000).duePrefix(messages, pause)).toBe(messages);
    expect(calls.until).toEqual([]);
  });

  it('returns the due prefix and pauses until the first message not due, once', () => {
    const { calls, pause } = pauser();
    const messages = [
      { id: 1, due: 500 },
      { id: 2, due: 1500 },
      { id: 3, due: 1200 },
    ];
    expect(gate(1000).duePrefix(messages, pause).map((m) => m.id)).toEqual([1]);
    expect(calls.until).toEqual([1500]);
  });

  it('resumes the partition when the head is due', () => {
    vi.useFakeTimers();
    const { calls, pause } = pauser();
    const g = gate(1000);
    expect(g.duePrefix([{ id: 1, due: 1250 }], pause)).toEqual([]);
    expect(g.pending).toBe(1);
    vi.advanceTimersByTime(249);
    expect(calls.resumed).toBe(0);
    vi.advanceTimersByTime(1);
    expect(calls.resumed).toBe(1);
    expect(g.pending).toBe(0);
  });

  it('a due time past what setTimeout can wait (about 24.8 days) waits the longest it can, not at once', () => {
    vi.useFakeTimers();
    const { calls, pause } = pauser();
    const thirtyDays = 30 * 24 * 3600_000;
    gate(1000).duePrefix([{ id: 1, due: 1000 + thirtyDays }], pause);
    vi.advanceTimersByTime(60_000);
    expect(calls.resumed).toBe(0);
    vi.advanceTimersByTime(2 ** 31 - 1 - 60_000);
    expect(calls.resumed).toBe(1);
  });

  it('stop() cancels pending resumes; later pauses are not resumed either', () => {
    vi.useFakeTimers();
    const { calls, pause } = pauser();
    const g = gate(1000);
    g.duePrefix([{ id: 1, due: 2000 }], pause);
    g.stop();
    g.duePrefix([{ id: 2, due: 3000 }], pause);
    vi.advanceTimersByTime(10_000);
    expect(calls.until).toEqual([2000, 3000]);
    expect(calls.resumed).toBe(0);
    expect(g.pending).toBe(0);
  });

  it('reads the retry-due-at header (bytes or string); no header is due at once', () => {
    expect(retryDueAt({ headers: { 'retry-due-at': Buffer.from('1234') } })).toBe(1234);
    expect(retryDueAt({ headers: { 'retry-due-at': ['99', '1'] } })).toBe(99);
    expect(retryDueAt({ headers: {} })).toBe(0);
    expect(retryDueAt({})).toBe(0);
  });
});
