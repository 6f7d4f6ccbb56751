import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema } from '../../../shared/db.js';
import { schemaSql } from '../../../services/batch-ingestion/store.js';
import { killAll, type ServiceProcess } from '../../support/processes.js';
import { eventually, testKafka, testSerde, uniqueId } from '../../support/stack.js';
import {
  countRows,
  encodeAll,
  group,
  freshDatabase,
  holdRow,
  makeEvents,
  metricValue,
  moveOffsets,
  produce,
  skipBacklog,
  source,
  startIngestion,
} from './helpers.js';

const started: ServiceProcess[] = [];
let db: Awaited<ReturnType<typeof freshDatabase>>;
const runId = uniqueId('run');
const total = 20_000;

async function rowsReach(pool: pg.Pool, n: number, what: string): Promise<void> {
  await eventually(async () => ((await countRows(pool)) >= n ? true : undefined), what, 90_000);
}


/** The backend of a service COPY that waits on a held row inside its (writing) transaction. */
async function blockedCopy(): Promise<{ pid: number }> {
  return eventually(
    async () => {
      const result = await db.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL AND query LIKE 'COPY%'`,
      );
      return result.rows[0];
    },
    'a COPY blocked inside its transaction',
    60_000,
  );
}

async function stop(service: ServiceProcess): Promise<void> {
  service.child.kill('SIGTERM');
  expect((await service.exited).code).toBe(0);
}

beforeAll(async () => {
  db = await freshDatabase(process.env.DATABASE_URL!);
  await applySchema(db.pool, schemaSql);
});

afterAll(async () => {
  await killAll(started);
  await db?.drop();
});

describe('batch-ingestion end to end (real broker, real PostgreSQL)', () => {
  let firstOffsets: Array<{ partition: number; offset: string }>;

  it('20,000 events in, exactly 20,000 rows, written in bulk', async () => {
    await skipBacklog();
    const admin = testKafka().admin();
    await admin.connect();
    firstOffsets = (await admin.fetchTopicOffsets(source.name)).map(({ partition, offset }) => ({ partition, offset }));
    await admin.disconnect();
    await produce(await encodeAll(testSerde(), makeEvents(runId, total)));

    const service = startIngestion({ DATABASE_URL: db.url });
    started.push(service);
    const url = await service.ready;
    const began = Date.now();
    await rowsReach(db.pool, total, '20,000 rows');
    console.log(`20,000 rows in ${((Date.now() - began) / 1000).toFixed(1)} s after the group join`);

    // Nothing more arrives later: the count stays exact once the service has committed everything.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await countRows(db.pool)).toBe(total);
    expect(await countRows(db.pool, 'event_id LIKE $1', [`${runId}-%`])).toBe(total);
    expect(await metricValue(url, 'batch_ingestion_rows_written_total')).toBe(total);
    // Bulk, not per event: 20,000 rows took a handful of flushes.
    expect(await metricValue(url, 'batch_ingestion_flush_rows_count')).toBeLessThan(50);
    await stop(service);
  });

  it('a replay of every event (offsets lost, e.g. a rebalance before the commit) adds no row', async () => {
    await moveOffsets(new Map([[source.name, firstOffsets]]));
    const service = startIngestion({ DATABASE_URL: db.url });
    started.push(service);
    const url = await service.ready;
    await eventually(
      async () => ((await metricValue(url, 'batch_ingestion_rows_duplicate_total')) >= total ? true : undefined),
      'the replay to be read',
      90_000,
    );
    expect(await metricValue(url, 'batch_ingestion_rows_written_total')).toBe(0);
    expect(await countRows(db.pool)).toBe(total);
    await stop(service);
  });

  it('SIGKILL in the middle of a batch, then a restart: still exactly 20,000 rows', async () => {
    const killRun = uniqueId('kill');
    await db.pool.query('TRUNCATE analytics_events');
    await skipBacklog();
    const events = makeEvents(killRun, total);
    await produce(await encodeAll(testSerde(), events));

    // An uncommitted row with the id of an event late in the stream: the COPY that reaches that
    // event waits on it, inside its transaction, with the rows before it inserted but uncommitted.
    const blocker = await holdRow(db.url, events[15_000]!.eventId);
    // Small fetches make many batches, so rows are committed before the blocked one.
    const env = { DATABASE_URL: db.url, KAFKA_FETCH_MAX_BYTES_PER_PARTITION: '65536', KAFKA_SESSION_TIMEOUT_MS: '6000' };
    const first = startIngestion(env);
    started.push(first);
    await first.ready;
    const blocked = await blockedCopy();
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // Read after the kill: until then the other flush connection may still commit later rows.
    const committed = await countRows(db.pool);
    await blocker.query('ROLLBACK');
    await blocker.end();
    // PostgreSQL notices the dead client and rolls its transaction back.
    await eventually(
      async () => {
        const r = await db.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [blocked.pid]);
        return r.rowCount === 0 ? true : undefined;
      },
      'the killed transaction to end',
    );
    const afterKill = await countRows(db.pool);
    console.log(`killed mid-batch: ${committed} rows committed before, ${afterKill} after the kill`);
    expect(afterKill).toBe(committed);
    expect(afterKill).toBeLessThan(total);

    const second = startIngestion(env);
    started.push(second);
    await second.ready;
    await rowsReach(db.pool, total, '20,000 rows after the restart');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await countRows(db.pool)).toBe(total);
    expect(await countRows(db.pool, 'event_id LIKE $1', [`${killRun}-%`])).toBe(total);
    await stop(second);
  });

  it('SIGTERM while streaming: exit 0, every written row committed and nothing else; a restart reads nothing twice', async () => {
    const termRun = uniqueId('term');
    await db.pool.query('TRUNCATE analytics_events');
    await skipBacklog();
    const admin = testKafka().admin();
    await admin.connect();
    const starts = new Map((await admin.fetchTopicOffsets(source.name)).map(({ partition, offset }) => [partition, Number(offset)]));
    await produce(await encodeAll(testSerde(), makeEvents(termRun, total)));

    // Tiny fetches: many small batches in flight at once, so the signal lands mid-stream.
    const env = { DATABASE_URL: db.url, KAFKA_FETCH_MAX_BYTES_PER_PARTITION: '4096', KAFKA_FETCH_MAX_BYTES: '24576' };
    const first = startIngestion(env);
    started.push(first);
    await first.ready;
    await rowsReach(db.pool, 2000, 'the first 2,000 rows');
    await stop(first);

    // What the stop wrote is exactly what it committed: per partition, the rows from the start offset
    // to the committed one (an offset committed ahead of its rows would lose them; behind, replay them).
    const written = await countRows(db.pool);
    const [committed] = await admin.fetchOffsets({ groupId: group.groupId, topics: [source.name] });
    await admin.disconnect();
    const committedEvents = committed!.partitions.reduce((sum, { partition, offset }) => sum + Number(offset) - starts.get(partition)!, 0);
    console.log(`SIGTERM mid-stream: ${written} rows written, ${committedEvents} events committed`);
    expect(written).toBeLessThan(total);
    expect(committedEvents).toBe(written);

    const second = startIngestion(env);
    started.push(second);
    const url = await second.ready;
    await rowsReach(db.pool, total, '20,000 rows after the restart');
    expect(await metricValue(url, 'batch_ingestion_rows_duplicate_total')).toBe(0);
    expect(await countRows(db.pool, 'event_id LIKE $1', [`${termRun}-%`])).toBe(total);
    await stop(second);
  });

  it('a second instance joining while a batch is in flight (a rebalance mid-batch) loses and duplicates nothing', async () => {
    const rebalanceRun = uniqueId('rebalance');
    await db.pool.query('TRUNCATE analytics_events');
    await skipBacklog();
    const events = makeEvents(rebalanceRun, total);
    await produce(await encodeAll(testSerde(), events));
    const blocker = await holdRow(db.url, events[15_000]!.eventId);
    const env = { DATABASE_URL: db.url, KAFKA_FETCH_MAX_BYTES_PER_PARTITION: '65536' };
    const first = startIngestion(env);
    started.push(first);
    await first.ready;
    await blockedCopy();

    // The group rebalances while the first instance's batch waits inside its transaction.
    const second = startIngestion(env);
    started.push(second);
    await eventually(async () => (first.output.some((line) => line.includes('rebalancing')) ? true : undefined), 'the first instance to see the rebalance');
    await blocker.query('ROLLBACK');
    await blocker.end();
    await second.ready;

    await rowsReach(db.pool, total, '20,000 rows with two instances');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await countRows(db.pool)).toBe(total);
    expect(await countRows(db.pool, 'event_id LIKE $1', [`${rebalanceRun}-%`])).toBe(total);
    // Both instances ended up with partitions of analytics.events.
    for (const instance of [first, second]) {
      const joins = instance.output.filter((line) => line.includes('"joined group"'));
      const last = JSON.parse(joins.at(-1)!) as { memberAssignment: Record<string, number[]> };
      expect(last.memberAssignment[source.name]?.length ?? 0).toBeGreaterThan(0);
    }
    await Promise.all([stop(first), stop(second)]);
  });
});
