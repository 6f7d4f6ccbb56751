/**
 * The task store's fencing against a real PostgreSQL: a worker whose lease ran out and was taken
 * over writes nothing, whatever it tries (chunk, heartbeat, failure, release); a cancel fences too.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema, withTransaction } from '../../../shared/db.js';
import { LeaseLostError, TaskStore, tasksSql, type ChunkWork } from '../../../shared/tasks/index.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { testConfig } from '../../support/stack.js';

let db: OwnDatabase;
let store: TaskStore;

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_tasks', 4);
  await applySchema(db.pool, tasksSql);
  await db.pool.query('CREATE TABLE outputs (task_id uuid, seq int, fence bigint)');
  store = new TaskStore(db.pool);
});

afterAll(async () => {
  await db?.drop();
});

/** A chunk of 10 rows that records where it was written. */
const chunk =
  (taskId: string, n: number, last = false): ChunkWork<number> =>
  async (tx, seq) => {
    await tx.query('INSERT INTO outputs (task_id, seq, fence) SELECT $1, $2, fence FROM tasks WHERE id = $1', [taskId, seq]);
    return { rows: 10, checkpoint: n, last };
  };

const outputs = async (taskId: string) =>
  (await db.pool.query<{ seq: number; fence: string }>('SELECT seq, fence FROM outputs WHERE task_id = $1 ORDER BY seq', [taskId])).rows;

describe('task store', () => {
  it('fences a worker whose lease was taken over: its chunk, heartbeat, failure and release change nothing', async () => {
    const queue = `q-${randomUUID()}`;
    const id = randomUUID();
    await store.create(db.pool, { id, queue, params: {} });
    const first = (await store.claim<unknown, number>(queue, 'a', 300))!;
    expect(first.fence).toBe(1);
    await store.commitChunk({ taskId: id, fence: 1 }, chunk(id, 1), 300, undefined, () => 100);
    expect(await store.claim(queue, 'b', 300), 'not claimable while the lease holds').toBeUndefined();

    await sleep(400);
    const second = (await store.claim<unknown, number>(queue, 'b', 30_000))!;
    expect(second).toMatchObject({ fence: 2, done: 10, checkpoint: 1, leaseOwner: 'b' });

    const stale = { taskId: id, fence: 1 };
    await expect(store.commitChunk(stale, chunk(id, 2), 300, undefined, () => 100)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await store.heartbeat(stale, 300)).toBe(false);
    expect(await store.fail(stale, new Error('late'), 5, 0, undefined)).toBeUndefined();
    expect(await store.release(stale)).toBe(false);

    await store.commitChunk({ taskId: id, fence: 2 }, chunk(id, 2, true), 30_000, undefined, () => 100);
    expect(await outputs(id)).toEqual([
      { seq: 1, fence: '1' },
      { seq: 2, fence: '2' },
    ]);
    expect(await store.find(db.pool, id)).toMatchObject({ state: 'SUCCEEDED', done: 20, total: 20, chunks: 2, attempts: 0, error: null });
    const claims = await db.pool.query('SELECT fence::int, owner, resumed_from::int FROM task_claims WHERE task_id = $1 ORDER BY fence', [id]);
    expect(claims.rows).toEqual([
      { fence: 1, owner: 'a', resumed_from: 0 },
      { fence: 2, owner: 'b', resumed_from: 10 },
    ]);
  });

  it('a cancel raises the fence: the running worker writes nothing more; a finished task is not cancelled again', async () => {
    const queue = `q-${randomUUID()}`;
    const id = randomUUID();
    await store.create(db.pool, { id, queue, params: {} });
    const claimed = (await store.claim(queue, 'a', 30_000))!;
    const outcome = await withTransaction(db.pool, (tx) => store.cancel(tx, id, undefined));
    expect(outcome.kind).toBe('cancelled');
    await expect(store.commitChunk({ taskId: id, fence: claimed.fence }, chunk(id, 1), 30_000, undefined, () => null)).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(await outputs(id)).toEqual([]);
    expect(await withTransaction(db.pool, (tx) => store.cancel(tx, id, undefined))).toEqual({ kind: 'finished', state: 'CANCELLED' });
    expect(await store.retry(db.pool, id)).toEqual({ kind: 'not-failed', state: 'CANCELLED' });
  });

  it('a failed attempt goes back with back-off; the last one is FAILED with its progress kept, and retry queues it again', async () => {
    const queue = `q-${randomUUID()}`;
    const id = randomUUID();
    await store.create(db.pool, { id, queue, params: {} });
    let task = (await store.claim<unknown, number>(queue, 'a', 30_000))!;
    await store.commitChunk({ taskId: id, fence: task.fence }, chunk(id, 1), 30_000, undefined, () => null);
    expect(await store.fail({ taskId: id, fence: task.fence }, new Error('boom'), 2, 200, undefined)).toBe('QUEUED');
    expect(await store.claim(queue, 'a', 30_000), 'not before its back-off').toBeUndefined();
    await sleep(250);
    task = (await store.claim<unknown, number>(queue, 'a', 30_000))!;
    expect(task).toMatchObject({ attempts: 1, checkpoint: 1, done: 10 });
    expect(await store.fail({ taskId: id, fence: task.fence }, new Error('boom again'), 2, 0, undefined)).toBe('FAILED');
    expect(await store.find(db.pool, id)).toMatchObject({ state: 'FAILED', attempts: 2, done: 10, checkpoint: 1, error: 'boom again', errorCode: 'UNCLASSIFIED' });
    expect(await store.retry(db.pool, id)).toEqual({ kind: 'queued' });
    expect(await store.claim(queue, 'b', 30_000)).toMatchObject({ attempts: 0, checkpoint: 1, done: 10 });
  });
});
