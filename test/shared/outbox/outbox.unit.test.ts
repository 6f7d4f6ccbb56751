import { describe, expect, it } from 'vitest';
import { afterCommit, withTransaction, type PoolClient } from '../../../shared/db.js';
import { topics } from '../../../shared/contracts/topics.js';
import { Outbox } from '../../../shared/outbox/outbox.js';
import { fakePool } from '../../support/fake-pool.js';

const message = (n: number) => ({
  topic: topics.orderCancelled,
  key: `order-${n}`,
  eventId: `e${n}`,
  value: { eventId: `e${n}`, orderId: `order-${n}`, reason: null, cancelledAt: n },
});

describe('Outbox: append wakes its listeners after the commit', () => {
  it('after COMMIT, once per transaction however many appends', async () => {
    const { pool, statements } = fakePool();
    const outbox = new Outbox(pool, 'kit_outbox');
    const heard: string[] = [];
    outbox.onCommit(() => heard.push(statements.at(-1)!));
    await withTransaction(pool, async (tx) => {
      await outbox.append(tx, [message(1)]);
      await outbox.append(tx, [message(2), message(3)]);
      expect(heard).toEqual([]);
    });
    expect(heard).toEqual(['COMMIT']);
  });

  it.each([
    ['the work fails', undefined, 'the effect failed'],
    ['the COMMIT fails', /^COMMIT/, 'failed: COMMIT'],
  ])('never when %s (the transaction rolls back)', async (_case, failing, reason) => {
    const { pool, failOn } = fakePool();
    const outbox = new Outbox(pool, 'kit_outbox');
    let heard = 0;
    outbox.onCommit(() => heard++);
    if (failing) failOn(failing);
    const work = async (tx: PoolClient) => {
      await outbox.append(tx, [message(1)]);
      if (!failing) throw new Error('the effect failed');
    };
    await expect(withTransaction(pool, work)).rejects.toThrow(reason);
    expect(heard).toBe(0);
  });

  it('an empty append writes and wakes nothing', async () => {
    const { pool, statements } = fakePool();
    const outbox = new Outbox(pool, 'kit_outbox');
    let heard = 0;
    outbox.onCommit(() => heard++);
    await withTransaction(pool, (tx) => outbox.append(tx, []));
    expect(statements).toEqual(['BEGIN', 'COMMIT']);
    expect(heard).toBe(0);
  });

  it('outside withTransaction (autocommit) the hook runs at once', async () => {
    const { pool } = fakePool();
    const client = await pool.connect();
    let ran = false;
    afterCommit(client, () => (ran = true));
    expect(ran).toBe(true);
  });

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => new Outbox(fakePool().pool, 'x; DROP TABLE orders')).toThrow(/plain lower-case identifier/);
  });
});
