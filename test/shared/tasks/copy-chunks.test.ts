/**
 * copyChunks against a real PostgreSQL: chunks of exactly `limit` records in key order, the last
 * one marked, quoted fields with line breaks kept whole; a window that ends the statement after
 * every chunk continues from the last key without a row twice or missing; an abort gives the
 * connection back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyChunks, type CopiedChunk } from '../../../shared/tasks/index.js';
import { freshDatabase, type OwnDatabase } from '../../support/databases.js';
import { testConfig } from '../../support/stack.js';

let db: OwnDatabase;
const ROWS = 2503;

/** Row n's third field: a quote, a comma, a tab, CRLF and LF, non-ASCII; every 7th row plain, every 11th NULL. */
const textOf = (n: number): string | null => (n % 11 === 0 ? null : n % 7 === 0 ? `plain ${n}` : `row ${n}, "é"\t\r\nend\n`);
/** The record COPY … CSV writes, with CRLF at its end (RFC 4180). */
const recordOf = (n: number): string => {
  const text = textOf(n);
  const field = text === null ? '' : text.startsWith('plain') ? text : `"${text.replaceAll('"', '""')}"`;
  return `${Math.floor(n / 10)},${n % 10},${field}\r\n`;
};
const expected = (from = 0) => Array.from({ length: ROWS - from }, (_, i) => recordOf(from + i)).join('');

beforeAll(async () => {
  db = await freshDatabase(testConfig().databaseUrl, 'op_copy_chunks', 3);
  await db.pool.query('CREATE TABLE items (a int, b int, t text)');
  await db.pool.query('INSERT INTO items SELECT n / 10, n % 10, x FROM unnest($1::text[]) WITH ORDINALITY AS u (x, k), LATERAL (SELECT k::int - 1 AS n) AS m', [
    Array.from({ length: ROWS }, (_, n) => textOf(n)),
  ]);
});

afterAll(async () => {
  await db?.drop();
});

const statement = (after: readonly string[] | undefined) =>
  `SELECT a, b, t FROM items ${after ? `WHERE (a, b) > (${Number(after[0])}, ${Number(after[1])})` : ''} ORDER BY a, b`;

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

const text = (chunks: CopiedChunk[]) => Buffer.concat(chunks.map((c) => c.data)).toString('utf8');

describe('copyChunks', () => {
  it('reads chunks of exactly the limit in key order, the last one marked, records whole and ending in CRLF', async () => {
    const statements: string[] = [];
    const chunks = await all({ limit: 500, windowMs: 60_000 }, statements);
    expect(chunks.map((c) => c.rows)).toEqual([500, 500, 500, 500, 500, 3]);
    expect(chunks.map((c) => c.last)).toEqual([false, false, false, false, false, true]);
    expect(chunks.map((c) => c.key)).toEqual([['49', '9'], ['99', '9'], ['149', '9'], ['199', '9'], ['249', '9'], ['250', '2']]);
    expect(text(chunks)).toBe(expected());
    expect(statements).toHaveLength(1);
    // From a key on; a count that divides evenly ends with a full chunk marked last (no empty one).
    const even = await all({ limit: 500, windowMs: 60_000, after: ['0', '2'] });
    expect(even.map((c) => [c.rows, c.last])).toEqual([[500, false], [500, false], [500, false], [500, false], [500, true]]);
    expect(text(even)).toBe(expected(3));
    // Nothing after the key: one empty last chunk.
    expect(await all({ limit: 500, windowMs: 60_000, after: ['999', '0'] })).toEqual([{ rows: 0, data: Buffer.alloc(0), key: undefined, last: true }]);
  });

  it('with a window shorter than a chunk, each chunk comes from a new statement that continues after the last key', async () => {
    const statements: string[] = [];
    const chunks = await all({ limit: 300, windowMs: 0 }, statements);
    expect(chunks.map((c) => c.rows)).toEqual([300, 300, 300, 300, 300, 300, 300, 300, 103]);
    expect(chunks.map((c) => c.last)).toEqual([false, false, false, false, false, false, false, false, true]);
    expect(statements).toEqual(['undefined', '29,9', '59,9', '89,9', '119,9', '149,9', '179,9', '209,9', '239,9']);
    expect(text(chunks)).toBe(expected());
  });

  it('unquotes a quoted key', async () => {
    const read = copyChunks(db.pool, {
      statement: () => `SELECT 'a,"b"' AS k1, E'c\\nd' AS k2, 1 AS v`,
      keyColumns: 2,
      after: undefined,
      limit: 10,
      windowMs: 60_000,
      signal: new AbortController().signal,
    });
    const chunks: CopiedChunk[] = [];
    for await (const chunk of read) chunks.push(chunk);
    expect(chunks.map((c) => c.key)).toEqual([['a,"b"', 'c\nd']]);
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
