import { describe, expect, it } from 'vitest';
import { progressOf, smoothedRate } from '../../../shared/tasks/progress.js';
import { parseTaskChange } from '../../../shared/tasks/task-changes.js';

describe('task progress', () => {
  it('gives percent with one decimal and the time left at the current rate', () => {
    expect(progressOf(2500, 10_000, 1000, false)).toEqual({ done: 2500, total: 10_000, percent: 25, rowsPerSecond: 1000, etaSeconds: 8 });
    expect(progressOf(1, 3, 0.5, false).percent).toBe(33.3);
  });

  it('knows no percent or ETA before the total and the rate are known; 0 left once finished', () => {
    expect(progressOf(0, null, null, false)).toEqual({ done: 0, total: null, percent: null, rowsPerSecond: null, etaSeconds: null });
    expect(progressOf(0, 0, null, true)).toMatchObject({ percent: 100, etaSeconds: 0 });
    expect(progressOf(40, 100, null, true).etaSeconds).toBe(0);
  });

  it('smooths the rate so one slow chunk does not swing it, and keeps it over an empty chunk', () => {
    expect(smoothedRate(null, 1000, 1)).toBe(1000);
    expect(smoothedRate(1000, 100, 1)).toBeCloseTo(730);
    expect(smoothedRate(1000, 0, 0.2)).toBe(1000);
  });
});

describe('task change notifications', () => {
  it('reads "<id> <version> <state> <fence> <queue>" and refuses anything else', () => {
    expect(parseTaskChange('7e0f 12 RUNNING 3 exports')).toEqual({ id: '7e0f', version: 12, state: 'RUNNING', fence: 3, queue: 'exports' });
    expect(parseTaskChange('7e0f 12 DONE 3 exports')).toBeUndefined();
    expect(parseTaskChange('7e0f x RUNNING 3 exports')).toBeUndefined();
    expect(parseTaskChange('7e0f 12 RUNNING 3')).toBeUndefined();
  });
});
