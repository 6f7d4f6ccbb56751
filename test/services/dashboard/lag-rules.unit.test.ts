import { describe, expect, it } from 'vitest';
import { evaluatePartition, worstStatus, type PartitionContext, type WindowSample } from '../../../services/dashboard/burrow.js';
import { History } from '../../../services/dashboard/history.js';
import { lagTrend, skewedPartitions, slopePerSecond, timeLag } from '../../../services/dashboard/trend.js';

/** Ten polls 5 s apart, the offsets and lags given. */
function window(committed: number[], lag: number[]): WindowSample[] {
  return committed.map((offset, i) => ({ time: i * 5000, committed: offset, lag: lag[i]! }));
}

const active: PartitionContext = { groupActive: true, timeLagMs: 600_000, expectedDelayMs: 0, windowSize: 10 };
const range = (from: number, step: number) => Array.from({ length: 10 }, (_, i) => from + i * step);

describe("Burrow's rules, each status provoked", () => {
  it('OK: any zero lag in the window, whatever else happens', () => {
    expect(evaluatePartition(window(range(100, 0), [5, 5, 5, 5, 0, 5, 5, 5, 5, 5]), active)).toBe('OK');
    expect(evaluatePartition(window(range(100, 0), range(0, 0)), { ...active, groupActive: false })).toBe('OK');
  });

  it('OK: the offset moves and the lag falls at least once', () => {
    expect(evaluatePartition(window(range(100, 10), [50, 52, 55, 54, 56, 58, 60, 61, 62, 63]), active)).toBe('OK');
  });

  it('WARNING: the offset moves but the lag never falls', () => {
    expect(evaluatePartition(window(range(100, 10), range(50, 5)), active)).toBe('WARNING');
    // Flat lag with a moving offset: the consumer keeps pace but never catches up.
    expect(evaluatePartition(window(range(100, 10), range(50, 0)), active)).toBe('WARNING');
  });

  it('STALL: members, lag, and an offset that has not moved over the whole window', () => {
    expect(evaluatePartition(window(range(100, 0), range(40, 3)), active)).toBe('STALL');
  });

  it("STALL is not a retry tier's partition waiting for its head to be due", () => {
    const waiting = { ...active, timeLagMs: 20_000, expectedDelayMs: 32_000 };
    expect(evaluatePartition(window(range(100, 0), range(4, 0)), waiting)).toBe('OK');
    expect(evaluatePartition(window(range(100, 0), range(4, 0)), { ...waiting, timeLagMs: 90_000 })).toBe('STALL');
  });

  it('STOP: lag and no member to commit', () => {
    expect(evaluatePartition(window(range(100, 0), range(40, 0)), { ...active, groupActive: false })).toBe('STOP');
  });

  it('REWIND: the committed offset went back', () => {
    expect(evaluatePartition(window([100, 110, 120, 130, 20, 30, 40, 50, 60, 70], range(10, 1)), active)).toBe('REWIND');
    expect(evaluatePartition(window([100, 110, 90], [10, 10, 30]), { ...active, groupActive: false })).toBe('REWIND');
  });

  it('judges STALL and WARNING only on a full window, as Burrow does', () => {
    expect(evaluatePartition(window([100, 100, 100], [5, 6, 7]), active)).toBe('OK');
  });

  it("a group's status is its worst partition's", () => {
    expect(worstStatus(['OK', 'WARNING', 'OK'])).toBe('WARNING');
    expect(worstStatus(['STALL', 'STOP', 'REWIND'])).toBe('STOP');
    expect(worstStatus([])).toBe('OK');
  });
});

describe('trend, drain ETA, skew', () => {
  it('slope is the least-squares lag change per second', () => {
    const points = Array.from({ length: 13 }, (_, i) => ({ time: i * 5000, value: 1000 - i * 50 }));
    expect(slopePerSecond(points)).toBeCloseTo(-10, 6);
    expect(slopePerSecond(points.slice(0, 1))).toBeNull();
  });

  it('ETA: lag over the drain rate since the last peak; 0 at no lag; null while growing', () => {
    // 30 s of growth to 1500, then 30 s draining 20 per second: 900 left, 45 s to go.
    const growth = Array.from({ length: 7 }, (_, i) => ({ time: i * 5000, value: i * 250 }));
    const drain = Array.from({ length: 6 }, (_, i) => ({ time: 35_000 + i * 5000, value: 1400 - i * 100 }));
    const trend = lagTrend([...growth, ...drain], 60_000);
    expect(trend.drainEtaSeconds).toBeCloseTo(45, 6);
    expect(lagTrend(growth, 30_000).drainEtaSeconds).toBeNull();
    expect(lagTrend([{ time: 0, value: 5 }, { time: 5000, value: 0 }], 5000).drainEtaSeconds).toBe(0);
  });

  it('flags a partition whose lag is over 3x the average of its topic', () => {
    expect([...skewedPartitions(new Map([[0, 100], [1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]))]).toEqual([0]);
    expect(skewedPartitions(new Map([[0, 10], [1, 12], [2, 9]])).size).toBe(0);
    expect(skewedPartitions(new Map([[0, 0], [1, 0]])).size).toBe(0);
  });
});

describe('time lag from the end offsets', () => {
  // The end offset grew by 100 every 10 s.
  const ends = Array.from({ length: 7 }, (_, i) => ({ time: i * 10_000, end: i * 100 }));

  it('interpolates when the record at the committed offset was appended', () => {
    // Offset 250 is the 251st record: appended 51 % of the way from t=20 s to t=30 s.
    expect(timeLag(ends, 250, 60_000)).toEqual({ ms: 60_000 - 25_100, atLeast: false });
    expect(timeLag(ends, 600, 60_000)).toEqual({ ms: 0, atLeast: false });
  });

  it('says "at least" for a record older than the history', () => {
    expect(timeLag(ends.slice(3), 120, 60_000)).toEqual({ ms: 30_000, atLeast: true });
    expect(timeLag([], 0, 0)).toBeNull();
  });
});

describe('downsampled history', () => {
  it('keeps every sample for the newest points and one per step for older ones, in fixed memory', () => {
    const history = new History(1, [
      { stepMs: 0, capacity: 4 },
      { stepMs: 10_000, capacity: 3 },
      { stepMs: 60_000, capacity: 100 },
    ]);
    for (let t = 0; t <= 120_000; t += 2500) history.add(t, [t]);
    const times = history.points().map((p) => p.time);
    // Newest 4 raw; before them the 10 s level's last step it holds (3 steps: 100-110 s, 110-120 s,
    // 120 s) that the raw level no longer does; before that the minute level's first minute.
    expect(times.slice(-4)).toEqual([112_500, 115_000, 117_500, 120_000]);
    expect(times.slice(-5, -4)).toEqual([107_500]);
    expect(times.slice(0, -5)).toEqual([57_500]);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(history.points(110_000).map((p) => p.time)).toEqual([112_500, 115_000, 117_500, 120_000]);
  });

  it('an hour of 5 s samples and a day of them keep the same number of points', () => {
    const count = (samples: number) => {
      const history = new History(1);
      for (let i = 0; i < samples; i++) history.add(i * 5000, [i]);
      return history.points().length;
    };
    expect(count(720)).toBeLessThanOrEqual(768);
    expect(count(17_280)).toBeLessThanOrEqual(768);
    const day = new History(1);
    for (let i = 0; i < 17_280; i++) day.add(i * 5000, [i]);
    const points = day.points();
    expect(points.at(-1)!.time - points[0]!.time).toBeGreaterThanOrEqual(23 * 3600_000);
  });
});
