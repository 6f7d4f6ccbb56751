/**
 * copyChunks against a real PostgreSQL: chunks of exactly `limit` rows in key order, the last one
 * marked; a window that ends the statement after every chunk continues from the last key without
 * a row twice or missing; an abort gives the connection back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyChunks, type CopiedChunk } from '../../../shared/tasks/index.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { testConfig } from '../../support/stack.js';

let db: OwnDatabase;
const ROWS = 2503;

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_copy_chunks', 3);
  // Two-part keys, and output with the bytes a text format would escape (tab, newline, backslash, non-ASCII).
  await db.pool.query(`CREATE TABLE items AS SELECT n / 10 AS a, n % 10 AS b, format(E'row %s\\t"é"\\\\\\r\\n', n) AS line FROM generate_series(0, ${ROWS - 1}) AS n`);
});

afterAll(async () => {
  await db?.drop();
});

const statement = (after: readonly string[] | undefined) =>
  `SELECT a::text, b::text, line FROM items ${after ? `WHERE (a, b) > (${Number(after[0])}, ${Number(after[1])})` : ''} ORDER BY a, b`;

async function all(options: { limit: number; windowMs: number; after?: string[] }, statements: string[] = []): Promise<CopiedChunk[]> {
  const chunks: CopiedChunk[] = [];
  const read = copyChunks(db.pool, {
    statement: (after) => {
      statements.push(String(after));
      return statement(after);
    },
    keyColumns: 2,
    after: options.after,
    limit: options.limit,
    windowMs: options.windowMs,
    signal: new AbortController().signal,
  });
  for await (const chunk of read) chunks.push(chunk);
  return chunks;
}

const expected = (from = 0) =>
  Array.from({ length: ROWS - from }, (_, i) => `row ${from + i}\t"é"\\\r\n`).join('');

describe('copyChunks', () => {
  it('reads chunks of exactly the limit in key order, the last one marked, the bytes as PostgreSQL sent them', async () => {
    const statements: string[] = [];
    const chunks = await all({ limit: 500, windowMs: 60_000 }, statements);
    expect(chunks.map((c) => c.rows)).toEqual([500, 500, 500, 500, 500, 3]);
    expect(chunks.map((c) => c.last)).toEqual([false, false, false, false, false, true]);
    expect(chunks.map((c) => c.key)).toEqual([['49', '9'], ['99', '9'], ['149', '9'], ['199', '9'], ['249', '9'], ['250', '2']]);
    expect(Buffer.concat(chunks.map((c) => c.data)).toString('utf8')).toBe(expected());
    expect(statements).toHaveLength(1);
    // From a key on; a count that divides evenly ends with a full chunk marked last (no empty one).
    const even = await all({ limit: 500, windowMs: 60_000, after: ['0', '2'] });
    expect(even.map((c) => [c.rows, c.last])).toEqual([[500, false], [500, false], [500, false], [500, false], [500, true]]);
    expect(Buffer.concat(even.map((c) => c.data)).toString('utf8')).toBe(expected(3));
  });

  it('with a window shorter than a chunk, each chunk comes from a new statement that continues after the last key', async () => {
    const statements: string[] = [];
    const chunks = await all({ limit: 300, windowMs: 0 }, statements);
    expect(chunks.filter((c) => c.rows > 0).map((c) => c.rows)).toEqual([300, 300, 300, 300, 300, 300, 300, 300, 103]);
    expect(chunks.at(-1)!.last).toBe(true);
    expect(chunks.slice(0, -1).every((c) => !c.last)).toBe(true);
    expect(statements).toEqual(['undefined', '29,9', '59,9', '89,9', '119,9', '149,9', '179,9', '209,9', '239,9']);
    expect(Buffer.concat(chunks.map((c) => c.data)).toString('utf8')).toBe(expected());
  });

  it('an abort ends the statement and gives its connection back', async () => {
    const controller = new AbortController();
    const read = copyChunks(db.pool, { statement, keyColumns: 2, after: undefined, limit: 100, windowMs: 60_000, signal: controller.signal });
    const iterator = read[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.rows).toBe(100);
    const pending = iterator.next();
    controller.abort();
    await pending.catch(() => undefined);
    await iterator.return?.(undefined);
    await sleep(50);
    // The aborted connection is closed, not handed out again half-read.
    expect(db.pool.totalCount - db.pool.idleCount).toBe(0);
    expect((await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM items')).rows[0]!.n).toBe(ROWS);
  });
});
