import { describe, expect, it } from 'vitest';
import { topics } from '../../../shared/contracts/topics.js';
import { SummaryTally } from '../../../shared/dlq/list.js';
import { FirstRecords, recordOrder, type DlqRecord } from '../../../shared/dlq/reader.js';
import type { DlqTarget } from '../../../shared/dlq/targets.js';

const targets: DlqTarget[] = ['a', 'b'].map((groupId) => ({
  group: { groupId, topics: [topics.orderCreated] },
  source: topics.orderCreated,
  dlqTopic: `${groupId}.dlq`,
}));

function record(target: number, partition: number, offset: number): DlqRecord {
  return {
    target: targets[target]!,
    partition,
    offset: String(offset),
    timestamp: 1000 + offset,
    key: null,
    keyBytes: null,
    value: null,
    rawHeaders: {},
    headers: {},
    errorClass: offset % 2 ? 'PermanentError' : undefined,
    errorCode: undefined,
  };
}

describe('reading a DLQ without holding it', () => {
  it('FirstRecords keeps the first records in (DLQ, partition, offset) order, holding under twice its bound', () => {
    const all = Array.from({ length: 1000 }, (_, i) => record(i % 2, i % 3, i));
    const shuffled = [...all].sort(() => Math.random() - 0.5);
    const first = new FirstRecords(recordOrder(targets), 5);
    let peak = 0;
    for (const r of shuffled) {
      first.add(r);
      peak = Math.max(peak, first.held);
    }
    expect(peak).toBeLessThan(10);
    expect(first.seen).toBe(1000);
    expect(first.records()).toEqual([...all].sort(recordOrder(targets)).slice(0, 5));
    const every = new FirstRecords(recordOrder(targets), 0);
    for (const r of shuffled) every.add(r);
    expect(every.records()).toHaveLength(1000);
  });

  it('SummaryTally counts, dates and groups by error class without keeping records', () => {
    const tally = new SummaryTally();
    for (let i = 0; i < 10; i++) tally.add(record(0, 0, i));
    expect(tally.count).toBe(10);
    expect([tally.oldest, tally.newest]).toEqual([1000, 1009]);
    expect(Object.fromEntries(tally.errorClasses)).toEqual({ PermanentError: 5, '(none)': 5 });
  });
});
