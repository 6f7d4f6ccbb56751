import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../../shared/consumer/types.js';
import { DUPLICATE, handleOnceFor } from '../../../shared/kit/handle-once.js';
import type { Logger } from '../../../shared/logger.js';
import { metrics } from '../../../shared/metrics.js';
import { fakePool } from '../../support/fake-pool.js';

function eventWithLog(eventId: string) {
  const lines: Array<{ fields: unknown; message: string }> = [];
  const logger = { info: (fields: unknown, message: string) => lines.push({ fields, message }) } as unknown as Logger;
  return { event: { eventId, logger } as unknown as InboundEvent<unknown>, lines };
}

async function duplicatesCounted(group: string): Promise<number> {
  const metric = await metrics.getSingleMetric('pipeline_duplicate_events_total')?.get();
  return metric?.values.find((v) => v.labels.group === group)?.value ?? 0;
}

describe('handleOnce', () => {
  it('runs the work in the claiming transaction and answers its result', async () => {
    const { pool, statements } = fakePool(() => 1);
    const handleOnce = handleOnceFor(pool, { groupId: 'kit-first', topics: [] });
    const { event, lines } = eventWithLog('e1');
    const result = await handleOnce(event, async (tx) => {
      await tx.query('UPDATE stock SET held = held + 1');
      return 'reserved';
    });
    expect(result).toBe('reserved');
    expect(statements).toEqual(['BEGIN', 'INSERT INTO processed_events', 'UPDATE stock SET', 'COMMIT']);
    expect(lines).toEqual([]);
  });

  it('claims under the group id of the declaration', async () => {
    const claims: unknown[] = [];
    const { pool } = fakePool((sql, params) => (sql.includes('processed_events') ? (claims.push(params), 1) : 1));
    await handleOnceFor(pool, { groupId: 'kit-group', topics: [] })(eventWithLog('e9').event, async () => undefined);
    expect(claims).toEqual([['kit-group', 'e9']]);
  });

  it('a claimed event answers DUPLICATE without running the work, logged and counted once', async () => {
    const { pool, statements } = fakePool((sql) => (sql.includes('processed_events') ? 0 : 1));
    const handleOnce = handleOnceFor(pool, { groupId: 'kit-dup', topics: [] });
    const { event, lines } = eventWithLog('e2');
    let ran = false;
    const result = await handleOnce(event, async () => {
      ran = true;
    });
    expect(result).toBe(DUPLICATE);
    expect(ran).toBe(false);
    expect(statements).toEqual(['BEGIN', 'INSERT INTO processed_events', 'COMMIT']);
    expect(lines).toEqual([{ fields: { group: 'kit-dup' }, message: 'already handled; redelivery ignored' }]);
    expect(await duplicatesCounted('kit-dup')).toBe(1);
  });

  it('a failing effect rolls the claim back, so the retry runs it again', async () => {
    const { pool, statements } = fakePool();
    const handleOnce = handleOnceFor(pool, { groupId: 'kit-fail', topics: [] });
    await expect(
      handleOnce(eventWithLog('e3').event, async () => {
        throw new Error('smtp down');
      }),
    ).rejects.toThrow('smtp down');
    expect(statements.at(-1)).toBe('ROLLBACK');
  });
});
