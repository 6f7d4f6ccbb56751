/**
 * npm run bench:export — an export of 1,000,000 rows (500,000 orders of two lines, seeded by SQL in
 * a database of its own) by the exports service as real processes, against PostgreSQL's own
 * `COPY (SELECT …) TO STDOUT` of the same query in the same run; then the same export with five
 * SIGKILLs of the working process, and what they cost. Needs the stack (`npm run stack:up`).
 *
 *   EXPORT_BENCH_ORDERS (default 500000), EXPORT_BENCH_LEASE_MS (5000), EXPORT_BENCH_HEARTBEAT_MS (1000),
 *   EXPORT_BENCH_CHUNK_ROWS (10000)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseVariables, loadConfig } from '../shared/config.js';
import { copyCsv, seedOrders, seedStart, sha256 } from '../test/support/exports.js';
import { freshDatabase, type OwnDatabase } from '../test/support/databases.js';
import { ServiceFleet, type RunningService } from '../test/support/services.js';
import { printTable, writeResults } from './support.js';
import { authorization, testClientId } from '../test/support/api-client.js';

const orders = Number(process.env.EXPORT_BENCH_ORDERS ?? 500_000);
const rows = orders * 2;
const leaseMs = Number(process.env.EXPORT_BENCH_LEASE_MS ?? 5000);
const heartbeatMs = Number(process.env.EXPORT_BENCH_HEARTBEAT_MS ?? 1000);
const chunkRows = Number(process.env.EXPORT_BENCH_CHUNK_ROWS ?? 10_000);
const kills = 5;
const from = new Date(seedStart).toISOString();
const to = new Date(seedStart + (orders + 1) * 1000).toISOString();

const fleet = new ServiceFleet();
let own: OwnDatabase | undefined;
const database = (): OwnDatabase => {
  if (!own) throw new Error('no database yet');
  return own;
};

const alive = () => fleet.started.filter((s) => s.child.exitCode === null && s.child.signalCode === null);

function start(): Promise<RunningService> {
  return fleet.start('exports', {
    DATABASE_URL: database().url,
    KAFKA_BROKERS: '127.0.0.1:9',
    LOG_LEVEL: 'warn',
    TASK_LEASE_MS: String(leaseMs),
    TASK_HEARTBEAT_MS: String(heartbeatMs),
    TASK_POLL_MS: '250',
    TASK_CHUNK_ROWS: String(chunkRows),
    TASK_CONCURRENCY: '1',
  });
}

interface TaskRow {
  state: string;
  done: number;
  chunks: number;
  owner: string | null;
  seconds: number | null;
}

async function task(id: string): Promise<TaskRow> {
  const { rows: found } = await database().pool.query<TaskRow>(
    `SELECT state, done::int, chunks, lease_owner AS owner, EXTRACT(EPOCH FROM finished_at - created_at)::float8 AS seconds FROM tasks WHERE id = $1`,
    [id],
  );
  return found[0]!;
}

async function requestExport(service: RunningService): Promise<string> {
  const response = await fetch(`${service.url}/exports`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authorization() },
    body: JSON.stringify({ kind: 'orders', from, to, format: 'csv' }),
  });
  if (response.status !== 202) throw new Error(`POST /exports: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { exportId: string }).exportId;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

/** Seconds from POST to SUCCEEDED (database clock), and the result's digest and download time. */
async function runExport(
  killing: boolean,
): Promise<{ seconds: number; sha: string; downloadSeconds: number; takeovers: number[]; firstChunkSeconds: number | undefined }> {
  const posted = performance.now();
  const id = await requestExport(alive()[0]!);
  // When the first chunk is committed: the read statement's start (its sort) and the claim are in it.
  let firstChunkSeconds: number | undefined;
  const takeovers: number[] = [];
  if (killing) {
    for (let kill = 1; kill <= kills; kill++) {
      // Spread over the export: the k-th kill after about k/(kills+1) of the rows, give or take a chunk.
      const target = Math.floor((rows * kill) / (kills + 1) / chunkRows) * chunkRows + Math.floor(Math.random() * chunkRows);
      const holder = await until(async () => {
        const current = await task(id);
        return current.done >= target ? alive().find((s) => current.owner === `${s.instance}:${s.child.pid}`) : undefined;
      });
      const { rows: fences } = await database().pool.query<{ fence: number }>('SELECT fence::int FROM tasks WHERE id = $1', [id]);
      const killedAt = Date.now();
      await fleet.kill(holder);
      const replacement = start();
      await until(async () => {
        const { rows: now } = await database().pool.query<{ fence: number }>('SELECT fence::int FROM tasks WHERE id = $1', [id]);
        return now[0]!.fence > fences[0]!.fence ? true : undefined;
      });
      takeovers.push((Date.now() - killedAt) / 1000);
      await replacement;
    }
  }
  const done = await until(async () => {
    const current = await task(id);
    if (firstChunkSeconds === undefined && current.done > 0) firstChunkSeconds = (performance.now() - posted) / 1000;
    return current.state === 'SUCCEEDED' ? current : undefined;
  });
  const started = performance.now();
  const response = await fetch(`${alive()[0]!.url}/exports/${id}/result`, { headers: authorization() });
  const sha = sha256(Buffer.from(await response.arrayBuffer()));
  return { seconds: done.seconds!, sha, downloadSeconds: (performance.now() - started) / 1000, takeovers, firstChunkSeconds };
}

async function copyBaseline(): Promise<{ seconds: number; sha: string }> {
  const started = performance.now();
  const parts: Buffer[] = [];
  await copyCsv(database().pool, 'orders', from, to, testClientId, (chunk) => parts.push(chunk));
  return { seconds: (performance.now() - started) / 1000, sha: sha256(Buffer.concat(parts)) };
}

try {
  const config = loadConfig(databaseVariables);
  own = await freshDatabase(config.databaseUrl, 'op_bench_export', 2);
  console.log(`seeding ${orders.toLocaleString('en-US')} orders (${rows.toLocaleString('en-US')} rows) …`);
  await seedOrders(database().pool, orders, 2, testClientId);
  await Promise.all([start(), start()]);

  // COPY twice (the first warms the cache as the export's count does), the export, COPY again.
  await copyBaseline();
  const copyBefore = await copyBaseline();
  const plain = await runExport(false);
  const copyAfter = await copyBaseline();
  const killed = await runExport(true);
  if (killed.sha !== plain.sha) throw new Error('the export with kills differs from the uninterrupted one');

  const copySeconds = Math.min(copyBefore.seconds, copyAfter.seconds);
  const extra = killed.seconds - plain.seconds;
  const chunkSeconds = plain.seconds / (rows / chunkRows);
  const table = [
    { run: 'COPY (SELECT …) TO STDOUT (csv)', seconds: copySeconds, 'rows/s': Math.round(rows / copySeconds), 'vs COPY': '1.00x' },
    {
      run: 'export (POST to SUCCEEDED)',
      seconds: plain.seconds,
      'rows/s': Math.round(rows / plain.seconds),
      'vs COPY': `${(copySeconds / plain.seconds).toFixed(2)}x`,
    },
    { run: 'GET result (download)', seconds: plain.downloadSeconds, 'rows/s': Math.round(rows / plain.downloadSeconds), 'vs COPY': '' },
    {
      run: `export, ${kills} SIGKILLs`,
      seconds: killed.seconds,
      'rows/s': Math.round(rows / killed.seconds),
      'vs COPY': `${(copySeconds / killed.seconds).toFixed(2)}x`,
    },
  ];
  printTable(table);
  if (plain.firstChunkSeconds !== undefined) {
    const streaming = plain.seconds - plain.firstChunkSeconds;
    console.log(
      `\nexport: first chunk committed ${plain.firstChunkSeconds.toFixed(2)} s after the POST (claim, and the read statement's sort of the range), ` +
        `then ${(rows - chunkRows).toLocaleString('en-US')} rows in ${streaming.toFixed(2)} s (${Math.round((rows - chunkRows) / streaming).toLocaleString('en-US')} rows/s).`,
    );
  }
  const takeoverSum = killed.takeovers.reduce((a, b) => a + b, 0);
  const rest = extra - takeoverSum;
  console.log(
    `\n${kills} kills cost ${extra.toFixed(1)} s: waiting for the takeovers ${takeoverSum.toFixed(1)} s ` +
      `(${killed.takeovers.map((s) => s.toFixed(1)).join(', ')}; lease ${leaseMs} ms, heartbeat ${heartbeatMs} ms), ` +
      `the rest ${rest.toFixed(1)} s = ${(rest / chunkSeconds).toFixed(1)} chunks of ${chunkSeconds.toFixed(3)} s (target: at most ${kills}). ` +
      `Results identical (sha256 ${plain.sha.slice(0, 12)}…).`,
  );
  const file = writeResults('export', {
    rows,
    chunkRows,
    leaseMs,
    heartbeatMs,
    copySeconds,
    exportSeconds: plain.seconds,
    firstChunkSeconds: plain.firstChunkSeconds,
    ratioToCopy: copySeconds / plain.seconds,
    downloadSeconds: plain.downloadSeconds,
    killedExportSeconds: killed.seconds,
    kills,
    extraSecondsFromKills: extra,
    takeoverSeconds: killed.takeovers,
    chunkSeconds,
    identical: killed.sha === plain.sha,
  });
  console.log(`wrote ${file}`);
} finally {
  await fleet.stopAll();
  await own?.drop();
}
