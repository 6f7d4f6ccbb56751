/**
 * `npm run bench:ingest`: the same N analytics events written three ways, in one run:
 *   (a) one INSERT per event (autocommit, one connection, a prepared statement): the naive baseline;
 *   (b) the batch-ingestion service end to end: a real child process consuming analytics.events
 *       with its real consumer group, micro-batching into COPY, committing offsets after the database;
 *   (c) one raw COPY of the same rows, prepared in memory beforehand: the ceiling.
 * Each method starts from an empty analytics_events table (same DDL, same indexes) in a database
 * of its own, after a CHECKPOINT. Prints rows/s, b/a and b/c, and writes bench/results/ingest.json.
 *   BENCH_EVENTS (default 1,000,000: b runs 10+ s on a 2-core machine; a then runs for minutes)
 *   BENCH_METHODS (default abc; e.g. bc skips the slow baseline while tuning; u adds (u): (b) again, its
 *   service on kafkajs 2.2.4 as published, without patches/kafkajs+2.2.4.patch)
 *   BENCH_CPU_PROF (a directory: the service runs with --cpu-prof into it; bench/profile-summary.ts reads it)
 *   BENCH_MEMBERS (default 1): (b) with this many service processes in the group
 *   BENCH_SERVICE_NODE_OPTIONS (default: the service's memory budget, stack/services.ts): the service's NODE_OPTIONS
 *   Service settings pass through the environment (BATCH_MAX_ROWS, KAFKA_FETCH_MAX_BYTES_PER_PARTITION, ...).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { databaseVariables, kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { applySchema } from '../shared/db.js';
import { ACKS_ALL, createIdempotentProducer, createKafka, type Message } from '../shared/kafka/client.js';
import { provisionTopics, registerSchemas } from '../shared/kafka/provision.js';
import { consumerGroups, topics, topology } from '../shared/contracts/topics.js';
import { physicalTopics, retryPolicyOf, retryTopicName } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
import { AvroSerde } from '../shared/registry/serde.js';
import type { AnalyticsEvent } from '../shared/contracts/schemas.js';
import { columns, encodeBlock, toLine } from '../services/batch-ingestion/rows.js';
import { schemaSql } from '../services/batch-ingestion/store.js';
import { repoRoot } from '../stack/layout.js';
import { localStack, up } from '../stack/local-stack.js';
import { serviceNodeOptions } from '../stack/services.js';
import { cpuSecondsOf, printTable, residentMb, writeResults } from './support.js';

const total = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const methods = process.env.BENCH_METHODS ?? 'abc';
const members = Number(process.env.BENCH_MEMBERS ?? 1);
const stack = localStack();
await up(stack);
const env = { ...process.env, ...stack.env };
const config = loadConfig({ ...kafkaVariables, ...registryVariables, ...databaseVariables }, env);
const logger = createLogger('bench-ingest');
logger.level = 'warn';
const kafka = createKafka(config, logger, 'bench-ingest');
const serde = AvroSerde.connect(config.schemaRegistryUrl);
const source = topics.analyticsEvents;
const group = consumerGroups.batchIngestion;
const runId = `bench-${Date.now().toString(36)}`;
const start = Date.UTC(2026, 0, 1);

/** Event i of this run: deterministic, so each method writes exactly the same rows. */
function eventAt(i: number): AnalyticsEvent {
  const kind = i % 3;
  return {
    eventId: `${runId}-${i}`,
    eventType: kind === 0 ? 'ORDER_PLACED' : kind === 1 ? 'LINE_ITEM' : 'REVENUE',
    orderId: `${runId}-order-${Math.floor(i / 3)}`,
    customerId: `customer-${i % 997}`,
    sku: kind === 1 ? `SKU-${i % 500}` : null,
    quantity: kind === 1 ? 1 + (i % 4) : null,
    amountCents: 100 + (i % 10_000),
    currency: 'EUR',
    occurredAt: start + i * 100, clientId: null,
  };
}

// A database of the benchmark's own, on the server of DATABASE_URL.
const benchDb = `${new URL(config.databaseUrl).pathname.slice(1)}_bench_ingest`;
const adminUrl = new URL(config.databaseUrl);
adminUrl.pathname = '/postgres';
const benchUrl = new URL(config.databaseUrl);
benchUrl.pathname = `/${benchDb}`;
{
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${benchDb}`);
  await admin.end();
}
const pool = new pg.Pool({ connectionString: benchUrl.toString(), max: 2 });
await applySchema(pool, schemaSql);

async function resetTable(): Promise<void> {
  await pool.query('TRUNCATE analytics_events');
  // Dirty pages and WAL of the previous method must not be paid by the next one.
  await pool.query('CHECKPOINT');
}

async function count(): Promise<number> {
  return Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM analytics_events')).rows[0]!.n);
}

interface Result {
  method: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}
const results: Result[] = [];
function record(method: string, seconds: number): Result {
  const result = { method, rows: total, seconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(total / seconds) };
  results.push(result);
  console.log(`  ${method}: ${result.rowsPerSecond.toLocaleString('en-US')} rows/s (${result.seconds} s)`);
  return result;
}

// --- Kafka: the group starts at the end of its topics, then this run's events are produced.
const admin = kafka.admin();
await admin.connect();
await provisionTopics(admin, 1, logger, physicalTopics(topology));
await registerSchemas(serde, Object.values(topology.topics));
const running = (await admin.describeGroups([group.groupId])).groups[0]?.members.length ?? 0;
if (running > 0) {
  console.error(`the ${group.groupId} group has ${running} running member(s); stop them (npm start?) before benchmarking`);
  process.exit(1);
}
const groupTopics = [source.name, ...Array.from({ length: retryPolicyOf(group).attempts - 1 }, (_, i) => retryTopicName(source, group.groupId, i + 1))];
const ends = await Promise.all(groupTopics.map(async (topic) => ({ topic, partitions: await admin.fetchTopicOffsets(topic) })));
await admin.disconnect();
{
  // One join commits every end offset (admin.setOffsets would join once per topic).
  const consumer = kafka.consumer({ groupId: group.groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.subscribe({ topics: groupTopics, fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
  await joined;
  await consumer.commitOffsets(ends.flatMap(({ topic, partitions }) => partitions.map(({ partition, offset }) => ({ topic, partition, offset }))));
  await consumer.disconnect();
}

/** Where this run's events start on each partition of the source topic. */
const runStarts = ends.find((end) => end.topic === source.name)!.partitions.map(({ partition, offset }) => ({ partition, offset }));
console.log(`producing ${total.toLocaleString('en-US')} events to ${source.name}…`);
{
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  const began = performance.now();
  for (let i = 0; i < total; i += 5000) {
    const messages: Message[] = [];
    for (let j = i; j < Math.min(i + 5000, total); j++) {
      const event = eventAt(j);
      messages.push({ key: event.orderId, value: await serde.encode(source, event), headers: { 'event-id': event.eventId } });
    }
    await producer.send({ topic: source.name, acks: ACKS_ALL, messages });
  }
  await producer.disconnect();
  console.log(`  produced in ${((performance.now() - began) / 1000).toFixed(1)} s`);
}
const runEnds = await (async () => {
  const reader = kafka.admin();
  await reader.connect();
  try {
    return (await reader.fetchTopicOffsets(source.name)).map(({ partition, offset }) => ({ partition, offset }));
  } finally {
    await reader.disconnect();
  }
})();

// --- (c) the ceiling: one COPY of the rows, encoded beforehand.
if (methods.includes('c')) {
  console.log('(c) raw COPY of the same rows…');
  await resetTable();
  // About 1 MB a chunk: COPY is fastest fed a few large writes.
  const chunks: Buffer[] = [];
  for (let i = 0; i < total; i += 6000) {
    chunks.push(encodeBlock(Array.from({ length: Math.min(6000, total - i) }, (_, j) => toLine(eventAt(i + j)))).buffer);
  }
  const client = await pool.connect();
  const began = performance.now();
  await client.query('BEGIN');
  await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY analytics_events (${columns.join(', ')}) FROM STDIN`)));
  await client.query('COMMIT');
  const seconds = (performance.now() - began) / 1000;
  client.release();
  if ((await count()) !== total) throw new Error('raw COPY did not write every row');
  record('c: raw COPY (ceiling)', seconds);
}

// --- (b) the service, end to end from the topic; (u) the same with kafkajs as published.
const serviceMetrics: Record<string, number> = {};
let serviceCpuSeconds = 0;
const cpuSeconds: Record<string, number> = {};
/** The largest peak resident set of a member, MB, per method. */
const peakRss: Record<string, number> = {};
async function runService(letter: 'b' | 'u'): Promise<void> {
  const label = letter === 'b' ? 'batch-ingestion' : 'batch-ingestion on kafkajs 2.2.4 unpatched';
  console.log(`(${letter}) ${label}, end to end from the topic…`);
  await resetTable();
  if (letter === 'u') {
    // The group is back at the start of this run's events: the same events are consumed again.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: group.groupId, topic: source.name, partitions: runStarts });
    await admin.disconnect();
  }
  const children = Array.from({ length: members }, () => startMember(letter === 'u'));
  try {
    const bases = await Promise.all(children.map((member) => member.base));
    const metric = async (name: string): Promise<number> => {
      let sum = 0;
      for (const base of bases) {
        const text = await (await fetch(`${base}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith(`${name} `));
        sum += line ? Number(line.slice(name.length + 1)) : 0;
      }
      return sum;
    };
    for (const base of bases) while (!(await fetch(`${base}/readyz`).then((r) => r.ok, () => false))) await sleep(20);
    const cpu = () => children.reduce((sum, member) => sum + cpuSecondsOf(member.child.pid!), 0);
    const cpuAtJoin = cpu();
    // Polled every 100 ms, not faster: each scrape costs the service CPU time it would spend ingesting.
    while ((await metric('batch_ingestion_rows_written_total')) < total) await sleep(100);
    const ended = Date.now();
    cpuSeconds[letter] = cpu() - cpuAtJoin;
    // From the first member's join (its log line's time): consumption starts there.
    const joins = children
      .flatMap((member) => member.output().split('\n'))
      .filter((line) => line.includes('"joined group"'))
      .map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
    const seconds = (ended - Math.min(...joins)) / 1000;
    if (letter === 'b') {
      serviceCpuSeconds = cpuSeconds.b!;
      for (const name of ['batch_ingestion_flush_rows_count', 'batch_ingestion_flush_rows_sum', 'batch_ingestion_flush_seconds_sum']) {
        serviceMetrics[name] = await metric(name);
      }
    }
    if ((await count()) !== total) throw new Error('the service did not write exactly every row');
    record(`${letter}: ${label}, end to end${members > 1 ? ` (${members} members)` : ''}`, seconds);
    peakRss[letter] = Math.max(...children.map((member) => residentMb(member.child.pid)));
    console.log(`  CPU time ${((cpuSeconds[letter]! / total) * 1e6).toFixed(1)} µs per event, peak RSS ${peakRss[letter]} MB`);
  } finally {
    for (const { child } of children) child.kill('SIGTERM');
    await Promise.all(children.map(({ child }) => child.exitCode ?? new Promise((resolve) => child.once('exit', resolve))));
  }
}
if (methods.includes('b')) await runService('b');
if (methods.includes('u')) await runService('u');

/** One member of the group: a real service process with its HTTP port. */
function startMember(pristineKafkajs: boolean) {
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const pristine = pristineKafkajs ? ['--import', path.join(repoRoot, 'bench', 'use-pristine-kafkajs.ts')] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', ...pristine, path.join(repoRoot, 'services', 'batch-ingestion', 'main.ts')], {
    // The memory budget the service runs with (stack/services.ts); BENCH_SERVICE_NODE_OPTIONS tries another.
    env: { ...env, NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS ?? serviceNodeOptions('batch-ingestion'), DATABASE_URL: benchUrl.toString(), HTTP_PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const base = (async () => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited:\n${output}`);
      const match = /"http listening".*?"port":(\d+)|"port":(\d+).*?"http listening"/.exec(output);
      if (match) return `http://127.0.0.1:${match[1] ?? match[2]}`;
      await sleep(20);
    }
  })();
  return { child, base, output: () => output };
}

// --- (a) the baseline: one INSERT, one round trip, one commit per event.
if (methods.includes('a')) {
  console.log('(a) one INSERT per event…');
  await resetTable();
  const client = await pool.connect();
  const text = `INSERT INTO analytics_events (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
  const began = performance.now();
  let lastReport = began;
  for (let i = 0; i < total; i++) {
    const e = eventAt(i);
    await client.query({
      name: 'insert-one',
      text,
      values: [e.eventId, e.eventType, e.orderId, e.customerId, e.sku, e.quantity, e.amountCents, e.currency, new Date(e.occurredAt), e.clientId],
    });
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      console.log(`  … ${i.toLocaleString('en-US')} rows, ${Math.round(i / ((lastReport - began) / 1000))} rows/s`);
    }
  }
  const seconds = (performance.now() - began) / 1000;
  client.release();
  if ((await count()) !== total) throw new Error('the INSERT loop did not write every row');
  record('a: one INSERT per event', seconds);
}

await pool.end();
{
  // The run's events leave the topic with it (up to where they end; anything produced since stays):
  // kept for the topic's retention, they would be waded through by whoever reads it from the start.
  const cleaner = kafka.admin();
  await cleaner.connect();
  // kafkajs finds the partitions' leaders only in metadata it has already fetched.
  await cleaner.fetchTopicMetadata({ topics: [source.name] });
  await cleaner.deleteTopicRecords({ topic: source.name, partitions: runEnds });
  await cleaner.disconnect();
}
{
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  await admin.end();
}

const rate = (letter: string) => results.find((r) => r.method.startsWith(`${letter}:`))?.rowsPerSecond;
const [a, b, c, u] = [rate('a'), rate('b'), rate('c'), rate('u')];
const ratios = {
  bOverA: a && b ? Number((b / a).toFixed(1)) : null,
  bOverC: c && b ? Number((b / c).toFixed(2)) : null,
  uOverC: c && u ? Number((u / c).toFixed(2)) : null,
};
const flushes = serviceMetrics.batch_ingestion_flush_rows_count ?? 0;
const flushSeconds = serviceMetrics.batch_ingestion_flush_seconds_sum ?? 0;
const bSeconds = results.find((r) => r.method.startsWith('b:'))?.seconds ?? 0;
const service = {
  flushes,
  meanRowsPerFlush: flushes ? Math.round((serviceMetrics.batch_ingestion_flush_rows_sum ?? 0) / flushes) : 0,
  /** Flushes overlap each other and the next fetches, so these do not add up to (b)'s time. */
  meanFlushMs: flushes ? Math.round((flushSeconds / flushes) * 1000) : 0,
  /** The service's CPU time per event (all its threads): its main thread saturated, this is what bounds (b). */
  cpuMicrosecondsPerEvent: serviceCpuSeconds ? Number(((serviceCpuSeconds / total) * 1e6).toFixed(1)) : null,
};
/** No writer beats the raw COPY of the same rows, so on this machine b/a can at most reach c/a. */
const ceilingOverA = a && c ? Number((c / a).toFixed(1)) : null;
console.log('');
printTable([...results].sort((x, y) => x.method.localeCompare(y.method)).map((r) => ({ method: r.method, rows: r.rows, seconds: r.seconds, 'rows/s': r.rowsPerSecond })));
console.log('');
console.log(`b/a = ${ratios.bOverA} (target >= 50)   b/c = ${ratios.bOverC} (target >= 0.7)${ratios.uOverC ? `   u/c = ${ratios.uOverC} (kafkajs unpatched)` : ''}`);
if (ceilingOverA) console.log(`c/a = ${ceilingOverA}: the most any writer could reach as b/a on this machine`);
if (flushes) console.log(`service: ${service.flushes} flushes of ${service.meanRowsPerFlush} rows, ${service.meanFlushMs} ms each on average`);
if (service.cpuMicrosecondsPerEvent) console.log(`  CPU time ${service.cpuMicrosecondsPerEvent} µs per event (${serviceCpuSeconds.toFixed(1)} s over ${bSeconds} s)`);
if (peakRss.b) console.log(`  peak RSS ${peakRss.b} MB (NODE_OPTIONS ${process.env.BENCH_SERVICE_NODE_OPTIONS ?? serviceNodeOptions('batch-ingestion')})`);
const file = writeResults('ingest', {
  events: total,
  results,
  ratios: { ...ratios, cOverA: ceilingOverA },
  service,
  serviceNodeOptions: process.env.BENCH_SERVICE_NODE_OPTIONS ?? serviceNodeOptions('batch-ingestion'),
  peakRssMb: peakRss,
  cpuMicrosecondsPerEvent: Object.fromEntries(Object.entries(cpuSeconds).map(([letter, seconds]) => [letter, Number(((seconds / total) * 1e6).toFixed(1))])),
  machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => Number(l.toFixed(2))) },
});
console.log(`results: ${file}`);
process.exit(0);
