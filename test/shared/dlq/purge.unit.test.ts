import { describe, expect, it } from 'vitest';
import { topics, topology } from '../../../shared/contracts/topics.js';
import { DlqRefusedError } from '../../../shared/dlq/errors.js';
import { prefixCut } from '../../../shared/dlq/purge.js';
import type { DlqRecord } from '../../../shared/dlq/reader.js';
import { resolveTargets } from '../../../shared/dlq/targets.js';

describe('dlq purge selections', () => {
  const [target] = resolveTargets(topology, { groupId: 'adhoc', topic: topics.orderCreated.name });
  const records: DlqRecord[] = ['5', '6', '7'].map((offset) => ({
    target: target!,
    partition: 2,
    offset,
    key: `k${offset}`,
    errorClass: 'PermanentError',
    errorCode: 'PERMANENT',
    timestamp: 0,
    keyBytes: null,
    value: null,
    rawHeaders: {},
    headers: {},
  }));

  it('cuts a partition after the last message of a selected prefix', () => {
    expect(prefixCut(records, new Set(records.slice(0, 2)))).toEqual({ partition: 2, from: '5', upTo: '7', count: 2 });
    expect(prefixCut(records, new Set())).toBeUndefined();
  });

  it('refuses a selection with an unselected message before a selected one', () => {
    expect(() => prefixCut(records, new Set([records[1]!]))).toThrow(DlqRefusedError);
    expect(() => prefixCut(records, new Set([records[0]!, records[2]!]))).toThrow(/offset 6 is not selected but comes before selected offset 7/);
  });
});
