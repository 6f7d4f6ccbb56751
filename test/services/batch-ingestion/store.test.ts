import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applySchema } from '../../../shared/db.js';
import type { AnalyticsEvent } from '../../../shared/contracts/schemas.js';
import { writeIsolating } from '../../../services/batch-ingestion/isolate.js';
import { encodeBlock, RowSet, toLine } from '../../../services/batch-ingestion/rows.js';
import { AnalyticsStore, RowsRejectedError, schemaSql } from '../../../services/batch-ingestion/store.js';
import { countRows, freshDatabase, makeEvents } from './helpers.js';

let db: Awaited<ReturnType<typeof freshDatabase>>;
let store: AnalyticsStore;

/** The events as the batcher keeps them: blocks of COPY lines (here several, to cross block edges). */
function rowsOf(events: readonly AnalyticsEvent[]): RowSet {
  const lines = events.map(toLine);
  const blocks = [];
  for (let i = 0; i < lines.length; i += 300) blocks.push(encodeBlock(lines.slice(i, i + 300)));
  return new RowSet(blocks);
}

function writeAll(events: readonly AnalyticsEvent[]) {
  const rows = rowsOf(events);
  return store.write(rows.chunks(0, rows.count), rows.count);
}

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!);
  await applySchema(db.pool, schemaSql);
  store = new AnalyticsStore(db.pool, { statementTimeoutMs: 30_000 });
});

beforeEach(async () => {
  await db.pool.query('TRUNCATE analytics_events');
});

afterAll(async () => {
  await db?.drop();
});

/** 1,000 events of which the given indices carry values the table refuses, each in its own way. */
function withBadRows(bad: Record<number, Partial<AnalyticsEvent>>): AnalyticsEvent[] {
  const events = makeEvents('store', 1_000);
  for (const [index, change] of Object.entries(bad)) Object.assign(events[Number(index)]!, change);
  return events;
}

const bad = {
  3: { amountCents: -1 }, // 23514 CHECK amount_cents >= 0
  400: { currency: 'EURO' }, // 22001 too long for varchar(3)
  401: { quantity: 0 }, // 23514 CHECK quantity > 0
  999: { orderId: 'nul\u0000byte' }, // 22021 PostgreSQL text cannot hold NUL
};

describe('analytics store (real PostgreSQL)', () => {
  it('round-trips text that COPY must escape', async () => {
    const [event] = makeEvents('escape', 1);
    event!.customerId = 'tab\there, newline\nthere, back\\slash, CR\r, \\N, ünïcødé ✓';
    event!.sku = '\\.';
    await writeAll([event!]);
    const { rows } = await db.pool.query('SELECT customer_id, sku FROM analytics_events');
    expect(rows).toEqual([{ customer_id: event!.customerId, sku: '\\.' }]);
  });

  it.each([
    ['the failing line COPY names', (error: RowsRejectedError) => error],
    ['bisection, when no line is named', (error: RowsRejectedError) => new RowsRejectedError(error.sqlState, error.message, undefined)],
  ])('isolates every bad row and writes all the others, using %s', async (_how, hint) => {
    const rows = rowsOf(withBadRows(bad));
    const result = await writeIsolating(rows.count, (start, end) =>
      store.write(rows.chunks(start, end), end - start).catch((error: unknown) => {
        throw error instanceof RowsRejectedError ? hint(error) : error;
      }),
    );
    expect(result.rejected.map((r) => [r.index, r.error.sqlState])).toEqual([
      [3, '23514'],
      [400, '22001'],
      [401, '23514'],
      [999, '22021'],
    ]);
    expect(result.inserted).toBe(996);
    expect(await countRows(db.pool)).toBe(996);
    console.log(`${_how}: ${result.writes} transactions for 4 bad rows in 1,000`);
  });

  it('a replayed batch, whole or in part, adds no row', async () => {
    const events = makeEvents('replay', 2_000);
    expect((await writeAll(events.slice(0, 1_500))).inserted).toBe(1_500);
    expect((await writeAll(events)).inserted).toBe(500);
    expect((await writeAll(events)).inserted).toBe(0);
    // Duplicates inside one batch count once as well.
    const more = makeEvents('again', 10);
    expect((await writeAll([...more, ...more])).inserted).toBe(10);
    expect(await countRows(db.pool)).toBe(2_010);
  });
});
