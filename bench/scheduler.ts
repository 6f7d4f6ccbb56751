/**
 * The scheduler's lateness and throughput: jobs due at 1,000 a second over a window, and a burst of
 * jobs all due at one instant, each with 1 and 3 dispatcher processes on a database of the bench's
 * own (created and dropped on the server of DATABASE_URL). Lateness is the hand-off to the outbox
 * (dispatched_at - due_at, both by the database's clock); early must be 0.
 *
 *   npm run bench:scheduler -- [--rate 1000] [--window-s 10] [--burst 10000] [--dispatchers 1,3]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { databaseVariables, loadConfig } from '../shared/config.js';
import { applySchema, createPool, type Pool } from '../shared/db.js';
import { createLogger } from '../shared/logger.js';
import { Outbox } from '../shared/outbox/outbox.js';
import { ScheduledJobs, schedulerSql, type ScheduleRequest } from '../shared/scheduler/jobs.js';
import { printTable, writeResults } from './support.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    'window-s': { type: 'string', default: '10' },
    burst: { type: 'string', default: '10000' },
    dispatchers: { type: 'string', default: '1,3' },
  },
});
const rate = Number(values.rate);
const windowS = Number(values['window-s']);
const burst = Number(values.burst);
const dispatcherCounts = values.dispatchers.split(',').map(Number);

const logger = createLogger('bench-scheduler');
logger.level = 'warn';
const jobs = new ScheduledJobs();
/** The dispatchers' outbox takes the events; no relay reads it. */
const BENCH_TOPIC = 'bench.scheduler';

async function adminQuery(baseUrl: string, sql: string): Promise<void> {
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function startDispatcher(databaseUrl: string): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL('./scheduler-worker.ts', import.meta.url)), {
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_TOPIC },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`dispatcher exited (${code}) before it was ready`)));
  });
}

async function stopDispatcher(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function request(i: number, afterMs: number): ScheduleRequest<unknown> {
  const key = `bench-${i}`;
  return { key, type: 'bench', dueAt: { afterMs }, topic: { name: BENCH_TOPIC }, message: { key, value: { i }, eventId: randomUUID() } };
}

interface Measured {
  jobs: number;
  early: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  perSecond: number;
}

async function measure(pool: Pool, count: number): Promise<Measured> {
  const { rows } = await pool.query<{ n: number; early: number; p50: number; p99: number; max: number; span: number }>(
    `SELECT count(*)::int AS n,
            count(*) FILTER (WHERE dispatched_at < due_at)::int AS early,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM dispatched_at - due_at))::float8 * 1000 AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM dispatched_at - due_at))::float8 * 1000 AS p99,
            max(EXTRACT(EPOCH FROM dispatched_at - due_at))::float8 * 1000 AS max,
            EXTRACT(EPOCH FROM max(dispatched_at) - min(due_at))::float8 AS span
       FROM scheduled_jobs WHERE state = 'dispatched'`,
  );
  const row = rows[0]!;
  if (row.n !== count) throw new Error(`${row.n} of ${count} jobs dispatched`);
  return { jobs: row.n, early: row.early, p50Ms: row.p50, p99Ms: row.p99, maxMs: row.max, perSecond: row.n / Math.max(row.span, 0.001) };
}

async function run(pool: Pool, databaseUrl: string, scenario: 'steady' | 'burst', dispatchers: number): Promise<Measured & { scenario: string; dispatchers: number }> {
  await pool.query('TRUNCATE scheduled_jobs, scheduler_outbox');
  const children = await Promise.all(Array.from({ length: dispatchers }, () => startDispatcher(databaseUrl)));
  try {
    const leadMs = 3000;
    const count = scenario === 'steady' ? rate * windowS : burst;
    const all = Array.from({ length: count }, (_, i) => request(i, scenario === 'steady' ? leadMs + (i * 1000) / rate : leadMs));
    const started = Date.now();
    for (let i = 0; i < all.length; i += 5000) await jobs.scheduleMany(pool, all.slice(i, i + 5000));
    if (Date.now() - started > leadMs) throw new Error('scheduling took longer than the lead time; lower --rate or --burst');
    for (;;) {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM scheduled_jobs WHERE state = 'pending'");
      if (rows[0]!.n === 0) break;
      await sleep(200);
    }
    return { scenario: scenario === 'steady' ? `${rate}/s for ${windowS} s` : `burst of ${burst}`, dispatchers, ...(await measure(pool, count)) };
  } finally {
    await Promise.all(children.map(stopDispatcher));
  }
}

const { databaseUrl: baseUrl } = loadConfig(databaseVariables);
const name = `op_bench_sched_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
await adminQuery(baseUrl, `CREATE DATABASE ${name}`);
const url = new URL(baseUrl);
url.pathname = `/${name}`;
const pool = createPool(url.toString(), logger, { max: 4 });
const results: Array<Awaited<ReturnType<typeof run>>> = [];
try {
  await applySchema(pool, schedulerSql);
  await new Outbox(pool, 'scheduler_outbox').create();
  for (const dispatchers of dispatcherCounts) {
    for (const scenario of ['steady', 'burst'] as const) results.push(await run(pool, url.toString(), scenario, dispatchers));
  }
} finally {
  await pool.end();
  await adminQuery(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

printTable(
  results.map((r) => ({
    scenario: r.scenario,
    dispatchers: r.dispatchers,
    jobs: r.jobs,
    early: r.early,
    'p50 ms': r.p50Ms,
    'p99 ms': r.p99Ms,
    'max ms': r.maxMs,
    'dispatches/s': Math.round(r.perSecond),
  })),
);
console.log(`results: ${writeResults('scheduler', { rate, windowS, burst, results })}`);
