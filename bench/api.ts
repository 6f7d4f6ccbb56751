/**
 * `npm run bench:api`: the order API, asynchronous (the pipeline) against its synchronous variant,
 * and how long an order takes from its POST until all three groups are done, against what the
 * broker alone takes.
 *
 * Runs against the stack of the environment (the local stack is started if needed). The bench starts
 * its own processes: order, inventory, email and analytics (the pipeline), the synchronous variant
 * (bench/sync-order-server.ts: the same POST /orders, then inventory's reservation, the email
 * service's Mailer and batch-ingestion's store inline before the answer), and a mail sink of its own
 * (stack/smtp-sink.ts) with MAIL_SINK_LATENCY_MS, once at 0 ms and once at BENCH_MAIL_LATENCY_MS.
 * Phases, one after the other, in the same run:
 *   1. GET /healthz and GET /orders/:id at 50 connections (the HTTP floor and one read);
 *   2. mail at 0 ms: POST /orders, async then sync, at 1 and at 50 connections for BENCH_DURATION s
 *      each; then POST paced at BENCH_RATE orders/s, and a bare kafkajs produce → consume round trip
 *      paced the same, with a message of the order.created's size;
 *   3. mail at BENCH_MAIL_LATENCY_MS: the same four POST phases.
 * "All three groups done" is measured with the services' own timestamps (same machine clock): the
 * order's created_at and the time each service reports for its step, so no polling blurs it.
 * Orders are paid: the payments service and the provider simulator (in this process) run beside the
 * pipeline, so "done" includes the authorization and the capture; the sync variant does no payment.
 * Each process's peak RSS (VmHWM) is read at the end. CPU time per process (/proc) is read twice: at
 * rest for 10 s before the first phase, and for the paced phase from its first POST until all its
 * orders are done (per order, and how busy the cores were). The bench sets the stock of SKU-001..SKU-030 high.
 *   BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_RATE (default 20),
 *   BENCH_MAIL_LATENCY_MS (default 250), BENCH_DRAIN_S (default 120: the longest wait for a backlog
 *   of mails at the slow sink), BENCH_LOG_LEVEL (services' LOG_LEVEL, default warn),
 *   BENCH_SERVICE_NODE_OPTIONS (NODE_OPTIONS of the services and the sync variant; default: their
 *   memory budget, stack/services.ts), BENCH_PLACEMENT (shared, the default, or split: see placeOnCpus),
 *   BENCH_SERVICES_FROM (dist, the default: built first with `npm run build` and run as the image
 *   runs them; or sources: through tsx, as npm start does)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { createPool } from '../shared/db.js';
import { consumerGroups, topics } from '../shared/contracts/topics.js';
import { ACKS_ALL, createIdempotentProducer, createKafka } from '../shared/kafka/client.js';
import { defaultMaxWaitTimeInMs } from '../shared/kafka/port.js';
import { provisionTopics } from '../shared/kafka/provision.js';
import { createLogger } from '../shared/logger.js';
import { AvroSerde } from '../shared/registry/serde.js';
import type { OrderCreated } from '../shared/contracts/schemas.js';
import { repoRoot } from '../stack/layout.js';
import { serviceNodeOptions } from '../stack/services.js';
import { groupLag } from '../test/support/kafka-groups.js';
import { freePort, startProcess, type ServiceProcess } from '../test/support/processes.js';
import { ServiceFleet, type RunningService } from '../test/support/services.js';
import { authorization, testApiKey } from '../test/support/api-client.js';
import { startPayments, startProvider } from '../test/support/payments.js';
import { cpuSecondsOf, printTable, processesNamed, provisionedStack, residentMb, stopFleetOnSignal, writeResults } from './support.js';

const duration = Number(process.env.BENCH_DURATION ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const pacedRate = Number(process.env.BENCH_RATE ?? 20);
const slowMailMs = Number(process.env.BENCH_MAIL_LATENCY_MS ?? 250);
const drainSeconds = Number(process.env.BENCH_DRAIN_S ?? 120);
const serviceLogLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const placement = process.env.BENCH_PLACEMENT ?? 'shared';
const servicesFrom = process.env.BENCH_SERVICES_FROM ?? 'dist';
if (servicesFrom !== 'dist' && servicesFrom !== 'sources') throw new Error(`BENCH_SERVICES_FROM must be dist or sources, not ${servicesFrom}`);
if (placement !== 'shared' && placement !== 'split') throw new Error(`BENCH_PLACEMENT must be shared or split, not ${placement}`);
if (placement === 'split' && cpus().length < 2) throw new Error('BENCH_PLACEMENT=split needs at least two CPUs');
const SKUS = Array.from({ length: 30 }, (_, i) => `SKU-${String(i + 1).padStart(3, '0')}`);

const stack = await provisionedStack();

const logger = createLogger('bench-api');
logger.level = 'warn';
const pool = createPool(stack.env.DATABASE_URL, logger, { max: 2 });
if (servicesFrom === 'dist') {
  console.log('building the services (npm run build)…');
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: repoRoot, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
}
const fleet = new ServiceFleet({ built: servicesFrom === 'dist' });
const run = randomUUID().slice(0, 8);
const loadAtStart = loadavg();

/** Processes of this bench that are not services of the fleet (mail sinks, sync servers). */
const extras: ServiceProcess[] = [];
stopFleetOnSignal({
  stopAll: async () => {
    for (const extra of extras) extra.child.kill('SIGTERM');
    await fleet.stopAll();
  },
});

function orderBody(prefix: string, n: number): string {
  return JSON.stringify({
    customerId: `${prefix}-${n}`,
    email: `${prefix}-${n}@bench.example`,
    currency: 'EUR',
    // Two different SKUs per order (n and 7n+3 never meet modulo 30), spread over the catalogue.
    items: [
      { sku: SKUS[n % 30], quantity: 1 },
      { sku: SKUS[(7 * n + 3) % 30], quantity: 2 },
    ],
  });
}

/** A POST /orders whose body changes with every request (each one a new order). */
function postRequest(prefix: string): autocannon.Request {
  let n = 0;
  return {
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': 'application/json', ...authorization() },
    setupRequest: (request) => ({ ...request, body: orderBody(prefix, n++) }),
  };
}

async function load(title: string, options: autocannon.Options): Promise<autocannon.Result> {
  console.log(`${title}…`);
  return autocannon({ connections, duration, ...options, title });
}

interface Completion {
  orders: number;
  done: number;
  p50: Record<string, number>;
  p99: Record<string, number>;
}

/**
 * Waits until every order of `prefix` has all three steps (at most `waitSeconds`), then reads the
 * latencies (ms) of the finished ones from the services' timestamps.
 */
async function completion(prefix: string, waitSeconds = drainSeconds): Promise<Completion> {
  const pattern = `${prefix}-%`;
  const deadline = Date.now() + waitSeconds * 1000;
  let counts = { orders: 0, done: 0 };
  for (;;) {
    const { rows } = await pool.query<{ orders: number; done: number }>(
      `SELECT count(*)::int AS orders,
              count(*) FILTER (WHERE (SELECT count(*) FROM order_steps s WHERE s.order_id = o.id AND s.step IN ('inventory', 'email', 'analytics')) = 3
                                 AND o.status IN ('CONFIRMED', 'REJECTED'))::int AS done
         FROM orders o WHERE o.customer_id LIKE $1`,
      [pattern],
    );
    counts = rows[0]!;
    if ((counts.orders > 0 && counts.done === counts.orders) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const { rows } = await pool.query<{ what: string; p50: number; p99: number }>(
    `WITH t AS (
       SELECT o.created_at,
              max(s.occurred_at) FILTER (WHERE s.step = 'inventory') AS inventory,
              max(s.occurred_at) FILTER (WHERE s.step = 'email') AS email,
              max(s.occurred_at) FILTER (WHERE s.step = 'analytics') AS analytics
         FROM orders o JOIN order_steps s ON s.order_id = o.id
        WHERE o.customer_id LIKE $1 GROUP BY o.id),
     d AS (
       SELECT 'all three groups' AS what, greatest(inventory, email, analytics) - created_at AS latency FROM t
        WHERE inventory IS NOT NULL AND email IS NOT NULL AND analytics IS NOT NULL
       UNION ALL SELECT 'inventory', inventory - created_at FROM t WHERE inventory IS NOT NULL
       UNION ALL SELECT 'email', email - created_at FROM t WHERE email IS NOT NULL
       UNION ALL SELECT 'analytics', analytics - created_at FROM t WHERE analytics IS NOT NULL)
     SELECT what,
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p50,
            (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p99
       FROM d GROUP BY what`,
    [pattern],
  );
  return {
    ...counts,
    p50: Object.fromEntries(rows.map((r) => [r.what, Math.round(r.p50)])),
    p99: Object.fromEntries(rows.map((r) => [r.what, Math.round(r.p99)])),
  };
}

/**
 * Where the time of `prefix`'s orders goes (p50 / p99 ms), from the rows' own timestamps: the API's
 * transaction and the relay (the order's created_at, taken before its transaction → the order.created
 * row marked sent after the broker's ack), each group (sent → its step's
 * time, taken in its handler: the consumer's fetch, decoding, the handler's transaction so far), and the
 * workflow's answer (inventory's decision → status CONFIRMED: inventory's relay, the order service's
 * consumer and the capture). Inventory reserves after the payment's authorization, so its part includes it.
 */
async function breakdown(prefix: string): Promise<Array<{ part: string; p50: number; p99: number }>> {
  const { rows } = await pool.query<{ part: string; p50: number; p99: number }>(
    `WITH t AS (
       SELECT o.created_at, o.updated_at, o.status, x.sent_at,
              max(s.occurred_at) FILTER (WHERE s.step = 'inventory') AS inventory,
              max(s.occurred_at) FILTER (WHERE s.step = 'email') AS email,
              max(s.occurred_at) FILTER (WHERE s.step = 'analytics') AS analytics
         FROM orders o
         JOIN order_outbox x ON x.message_key = o.id::text AND x.topic = $2
         JOIN order_steps s ON s.order_id = o.id
        WHERE o.customer_id LIKE $1 GROUP BY o.id, x.sent_at),
     d AS (
       SELECT '1. API transaction + relay: created → order.created acked' AS part, sent_at - created_at AS latency FROM t
       UNION ALL SELECT '2. order.created acked → inventory handler (after authorization)', inventory - sent_at FROM t
       UNION ALL SELECT '2. order.created acked → email handler (before SMTP)', email - sent_at FROM t
       UNION ALL SELECT '2. order.created acked → analytics handler', analytics - sent_at FROM t
       UNION ALL SELECT '3. workflow: inventory decided → CONFIRMED (capture)', updated_at - inventory FROM t WHERE status = 'CONFIRMED')
     SELECT part,
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p50,
            (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p99
       FROM d GROUP BY part ORDER BY part`,
    [`${prefix}-%`, topics.orderCreated.name],
  );
  return rows.map((r) => ({ part: r.part, p50: Math.round(r.p50), p99: Math.round(r.p99) }));
}

/** A mail sink of this bench's own (stack/smtp-sink.ts) answering each message after `latencyMs`. */
async function startSink(latencyMs: number): Promise<{ smtpUrl: string; process: ServiceProcess; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-mail-'));
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const smtpUrl = `smtp://127.0.0.1:${smtpPort}`;
  const sink = startProcess(path.join(repoRoot, 'stack', 'smtp-sink.ts'), { MAIL_SINK_LATENCY_MS: String(latencyMs) }, [dir, smtpUrl, `http://127.0.0.1:${httpPort}`]);
  extras.push(sink);
  placeOnCpus(sink.child.pid, 'rest');
  for (;;) {
    if (sink.child.exitCode !== null) throw new Error(`the mail sink exited:\n${sink.output.join('\n')}`);
    if (sink.output.some((line) => line.startsWith('SMTP sink on'))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { smtpUrl, process: sink, dir };
}

/** The synchronous variant, as a process of its own like the order service. */
async function startSyncServer(smtpUrl: string): Promise<{ url: string; process: ServiceProcess }> {
  const server = startProcess(path.join(repoRoot, 'bench', 'sync-order-server.ts'), {
    SMTP_URL: smtpUrl,
    DEMO_API_KEY: testApiKey,
    HTTP_PORT: '0',
    LOG_LEVEL: serviceLogLevel,
    NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS ?? serviceNodeOptions('order'),
  });
  extras.push(server);
  placeOnCpus(server.child.pid, 'api');
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`the sync server exited:\n${server.output.join('\n')}`);
    const line = server.output.find((l) => l.startsWith('{"port":'));
    if (line) return { url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, process: server };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * BENCH_PLACEMENT=split: the API under test (the order service, the sync variant) has CPU 0 to
 * itself, and the rest (the consumers, the payments service, the Kafka broker, the mail sinks, and
 * this process: the clients and the payment provider) the other CPUs, as where the API and the
 * consumers run on machines of their own. PostgreSQL, started outside the bench, is not moved.
 * With shared (the default) every process may run anywhere.
 */
function placeOnCpus(pid: number | undefined, role: 'api' | 'rest'): void {
  if (placement !== 'split' || pid === undefined) return;
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', role === 'api' ? '0' : `1-${cpus().length - 1}`, String(pid)], { stdio: 'ignore' });
}

/** What makes up a process's memory, sampled from its /metrics (prom-client's default metrics): the largest values seen, MB. */
interface MemoryParts {
  idleRss: number;
  heapTotal: number;
  external: number;
}
const memory: Record<string, MemoryParts> = {};
const sampled = new Map<string, string>();
async function sampleMemory(): Promise<void> {
  for (const [name, url] of sampled) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
    const value = (metric: string) => Number(new RegExp(`^${metric} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;
    const parts = (memory[name] ??= { idleRss: 0, heapTotal: 0, external: 0 });
    parts.heapTotal = Math.max(parts.heapTotal, Math.round(value('nodejs_heap_size_total_bytes')));
    parts.external = Math.max(parts.external, Math.round(value('nodejs_external_memory_bytes')));
  }
}

/** A bare kafkajs producer and consumer: `count` messages of `size` bytes paced at `rate`/s; the send → receive times (ms). */
async function rawRoundTrip(size: number, rate: number, count: number): Promise<number[]> {
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, process.env);
  const kafka = createKafka(config, logger, 'bench-roundtrip');
  const topic = `bench.roundtrip.${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await provisionTopics(admin, 1, logger, [{ name: topic, partitions: topics.orderCreated.partitions, config: {} }]);
  const producer = createIdempotentProducer(kafka);
  // The consumer runtime's fetch wait (shared/consumer/options.ts), so both wait alike for new data.
  const consumer = kafka.consumer({ groupId: `bench-roundtrip-${run}`, maxWaitTimeInMs: defaultMaxWaitTimeInMs });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let allSeen: () => void = () => {};
  const seen = new Promise<void>((resolve) => (allSeen = resolve));
  await Promise.all([producer.connect(), consumer.connect()]);
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({
      eachMessage: async ({ message }) => {
        const at = sentAt.get(message.key!.toString());
        if (at !== undefined) latencies.push(performance.now() - at);
        if (latencies.length === count) allSeen();
      },
    });
    await joined;
    const value = Buffer.alloc(size, 7);
    const began = performance.now();
    for (let i = 0; i < count; i++) {
      const due = began + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const key = `${run}-${i}`;
      sentAt.set(key, performance.now());
      // Not awaited: the next send keeps its pace, as the relay's do.
      void producer.send({ topic, acks: ACKS_ALL, messages: [{ key, value }] });
    }
    await seen;
    return latencies;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface PostPhase {
  variant: 'async' | 'sync';
  mailMs: number;
  clients: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failed: number;
  prefix: string;
}
const phases: PostPhase[] = [];

/**
 * Where PostgreSQL runs with autovacuum off (this machine's does), every row a phase updates (outbox
 * rows leased and marked sent, orders moving through their statuses) leaves dead entries in the
 * indexes that each relay claim then walks, and every later phase is slower for it. The bench
 * vacuums before each measured phase instead, as autovacuum would.
 */
const autovacuum = (await pool.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]?.autovacuum === 'on';
async function vacuumUnlessAutovacuum(): Promise<void> {
  if (!autovacuum) await pool.query('VACUUM (ANALYZE)');
}

async function postPhase(variant: 'async' | 'sync', url: string, mailMs: number, clients: number): Promise<PostPhase> {
  await vacuumUnlessAutovacuum();
  const prefix = `bench-${run}-${variant}-${mailMs}-${clients}`;
  const result = await load(`POST /orders ${variant}, mail ${mailMs} ms, ${clients} client(s), ${duration} s`, { url, connections: clients, requests: [postRequest(prefix)] });
  const phase = {
    variant,
    mailMs,
    clients,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    failed: result.non2xx + result.errors + result.timeouts,
    prefix,
  };
  phases.push(phase);
  return phase;
}

/** The processes whose CPU time the bench reports, by name. */
const watched = new Map<string, number | undefined>();

/** CPU seconds used so far, per watched process; PostgreSQL's are its server's processes alive now, whoever they serve. */
function cpuNow(): Map<string, number> {
  const now = new Map([...watched].map(([name, pid]) => [name, cpuSecondsOf(pid)]));
  now.set('PostgreSQL (every backend)', processesNamed('postgres').reduce((sum, pid) => sum + cpuSecondsOf(pid), 0));
  return now;
}

interface CpuUse {
  process: string;
  seconds: number;
}

/** CPU seconds each process used since `before`, the largest first, with the total last. */
function cpuSince(before: Map<string, number>): CpuUse[] {
  const uses = [...cpuNow()].map(([process, seconds]) => ({ process, seconds: Math.max(0, seconds - (before.get(process) ?? 0)) }));
  uses.sort((x, y) => y.seconds - x.seconds);
  return [...uses, { process: 'all of them', seconds: uses.reduce((sum, use) => sum + use.seconds, 0) }];
}

const sinkDirs: string[] = [];
const peaks: Record<string, number> = {};
const notePeak = (name: string, pid: number | undefined) => (peaks[name] = Math.max(peaks[name] ?? 0, residentMb(pid)));

try {
  console.log('starting the mail sink, order, inventory, email, analytics and the sync variant…');
  const fast = await startSink(0);
  sinkDirs.push(fast.dir);
  // BENCH_SERVICE_NODE_OPTIONS, e.g. --max-old-space-size=64: how the services' memory answers to a smaller heap.
  const env = { LOG_LEVEL: serviceLogLevel, ...(process.env.BENCH_SERVICE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS } : {}) };
  // Orders are paid (authorize, then capture on confirm): the provider simulator runs in this process.
  const provider = await startProvider();
  const [order, inventory, firstEmail, analytics, payments] = await Promise.all([
    fleet.start('order', env),
    fleet.start('inventory', env),
    fleet.start('email', { ...env, SMTP_URL: fast.smtpUrl }),
    fleet.start('analytics', env),
    startPayments(fleet, provider, env),
  ]);
  let email: RunningService = firstEmail!;
  placeOnCpus(order!.child.pid, 'api');
  for (const pid of [inventory!.child.pid, email.child.pid, analytics!.child.pid, payments!.child.pid, stack.processes.running('kafka'), process.pid]) placeOnCpus(pid, 'rest');
  for (const service of [order!, inventory!, email, analytics!, payments!]) {
    sampled.set(service.name, service.url);
    memory[service.name] = { idleRss: residentMb(service.child.pid, 'VmRSS'), heapTotal: 0, external: 0 };
  }
  for (const service of [order!, inventory!, email, analytics!, payments!]) watched.set(service.name, service.child.pid);
  watched.set('Kafka broker', stack.processes.running('kafka'));
  watched.set('schema registry', stack.processes.running('schema-registry'));
  watched.set('mail sink', fast.process.child.pid);
  watched.set('this bench (clients, payment provider)', process.pid);
  const sampler = setInterval(() => void sampleMemory(), 1000);
  for (const [group, topic] of [
    [consumerGroups.payments, topics.paymentCommands],
    [consumerGroups.inventory, topics.inventoryReserveRequested],
    [consumerGroups.email, topics.orderCreated],
    [consumerGroups.analytics, topics.orderCreated],
  ] as const) {
    while ((await groupLag(group.groupId, topic.name)) > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await pool.query('UPDATE stock SET available = 1000000 WHERE sku = ANY($1::text[])', [SKUS]);
  // At rest: what the pipeline costs with nothing to do (mostly consumers' fetches waiting on the broker).
  const restSeconds = 10;
  const beforeRest = cpuNow();
  await new Promise((resolve) => setTimeout(resolve, restSeconds * 1000));
  const atRest = cpuSince(beforeRest);
  const url = order!.url;
  let sync = await startSyncServer(fast.smtpUrl);
  sampled.set('sync variant', sync.url);
  memory['sync variant'] = { idleRss: residentMb(sync.process.child.pid, 'VmRSS'), heapTotal: 0, external: 0 };

  const healthz = await load('GET /healthz', { url: `${url}/healthz` });
  const sample = await fetch(`${url}/orders`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...authorization() }, body: orderBody(`bench-${run}-sample`, 0) });
  const { orderId } = (await sample.json()) as { orderId: string };
  const read = await load('GET /orders/:id', { url: `${url}/orders/${orderId}`, headers: authorization() });

  // --- mail at 0 ms
  await postPhase('async', url, 0, 1);
  await postPhase('async', url, 0, connections);
  console.log('waiting for the three groups…');
  const doneFast = { one: await completion(phases.at(-2)!.prefix), many: await completion(phases.at(-1)!.prefix) };

  const pacedPrefix = `bench-${run}-paced`;
  const pacedSeconds = Math.max(duration, 10);
  await vacuumUnlessAutovacuum();
  const beforePaced = cpuNow();
  const pacedBegan = performance.now();
  const paced = await load(`POST /orders paced at ${pacedRate}/s for ${pacedSeconds} s`, {
    url,
    requests: [postRequest(pacedPrefix)],
    connections: 5,
    overallRate: pacedRate,
    duration: pacedSeconds,
  });
  const pacedDone = await completion(pacedPrefix);
  // From the first POST until every order was done: each order's whole work, on every process.
  const pacedCpu = cpuSince(beforePaced);
  const pacedWallSeconds = (performance.now() - pacedBegan) / 1000;
  const pacedParts = await breakdown(pacedPrefix);

  // The raw round trip carries a message of an order.created's size (Avro, as the relay publishes it).
  const serde = AvroSerde.connect(stack.env.SCHEMA_REGISTRY_URL);
  const example: OrderCreated = {
    eventId: randomUUID(), orderId: randomUUID(), customerId: `bench-${run}-paced-1`, email: `bench-${run}-paced-1@bench.example`,
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 1999 }, { sku: 'SKU-010', quantity: 2, unitPriceCents: 2999 }],
    totalCents: 7997, currency: 'EUR', createdAt: Date.now(), clientId: randomUUID(),
  };
  const messageSize = (await serde.encode(topics.orderCreated, example)).length;
  console.log(`bare kafkajs round trip, ${messageSize}-byte messages paced at ${pacedRate}/s…`);
  const raw = await rawRoundTrip(messageSize, pacedRate, pacedRate * pacedSeconds);

  await postPhase('sync', sync.url, 0, 1);
  await postPhase('sync', sync.url, 0, connections);

  // --- mail at slowMailMs: a sink of its own, the email service and the sync variant moved to it.
  notePeak('email', email.child.pid);
  notePeak('sync variant', sync.process.child.pid);
  const slow = await startSink(slowMailMs);
  sinkDirs.push(slow.dir);
  sync.process.child.kill('SIGTERM');
  await sync.process.exited;
  await fleet.stop(email);
  email = await fleet.start('email', { ...env, SMTP_URL: slow.smtpUrl });
  placeOnCpus(email.child.pid, 'rest');
  sampled.set('email', email.url);
  sync = await startSyncServer(slow.smtpUrl);
  sampled.set('sync variant', sync.url);

  await postPhase('sync', sync.url, slowMailMs, 1);
  await postPhase('sync', sync.url, slowMailMs, connections);
  await postPhase('async', url, slowMailMs, 1);
  await postPhase('async', url, slowMailMs, connections);
  console.log(`waiting for the three groups (at most ${drainSeconds} s: the email group sends at the sink's pace)…`);
  const drainBegan = Date.now();
  const doneSlow = { one: await completion(phases.at(-2)!.prefix), many: await completion(phases.at(-1)!.prefix, Math.max(1, drainSeconds - (Date.now() - drainBegan) / 1000)) };

  clearInterval(sampler);
  for (const [name, service] of [['order', order], ['inventory', inventory], ['email', email], ['analytics', analytics], ['payments', payments]] as const) notePeak(name, service?.child.pid);
  notePeak('sync variant', sync.process.child.pid);
  notePeak('mail sink', slow.process.child.pid);
  notePeak('mail sink', fast.process.child.pid);

  // Mails still queued for this bench's orders must not go to the next test's sink: the email group
  // skips them (their orders stay without an email step).
  const unfinished = doneSlow.many.orders - doneSlow.many.done + doneSlow.one.orders - doneSlow.one.done;
  for (const service of fleet.started) await fleet.stop(service);
  await provider.close();
  if (unfinished > 0) {
    const config = loadConfig({ ...kafkaVariables, ...registryVariables }, process.env);
    const admin = createKafka(config, logger, 'bench-api').admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: consumerGroups.email.groupId, topic: topics.orderCreated.name, earliest: false });
    await admin.disconnect();
  }

  // --- report
  const phase = (variant: string, mailMs: number, clients: number) => phases.find((p) => p.variant === variant && p.mailMs === mailMs && p.clients === clients)!;
  const doneOf = (p: PostPhase) => {
    const done = p.mailMs === 0 ? (p.clients === 1 ? doneFast.one : doneFast.many) : p.clients === 1 ? doneSlow.one : doneSlow.many;
    return p.variant === 'sync' ? '(in the answer)' : `${done.p50['all three groups'] ?? '-'} / ${done.p99['all three groups'] ?? '-'}${done.done < done.orders ? ` (${done.done} of ${done.orders} done after ${drainSeconds} s)` : ''}`;
  };
  const load1 = loadavg();
  console.log(`\nOrder API, async (the pipeline) vs sync (the same work inline), ${duration} s per phase, services at LOG_LEVEL=${serviceLogLevel}`);
  if (!autovacuum) console.log('PostgreSQL runs with autovacuum off: the bench ran VACUUM (ANALYZE) before each phase');
  console.log(`services: ${servicesFrom === 'dist' ? 'built JavaScript (dist/), as the image runs them' : 'sources through tsx'}; the sync variant through tsx`);
  console.log(`placement: ${placement === 'split' ? 'split (the API under test on CPU 0, the rest on the others)' : 'shared (every process on any CPU)'}`);
  console.log(`machine: ${cpus().length} cores, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at end`);
  printTable(
    phases.map((p) => ({
      variant: p.variant,
      'mail ms': p.mailMs,
      clients: p.clients,
      'POST req/s': p.rps,
      'POST p50 ms': p.p50,
      'POST p99 ms': p.p99,
      requests: p.requests,
      failed: p.failed,
      'POST → all groups done p50 / p99 ms': doneOf(p),
    })),
  );
  const targets = [1, connections].map((clients) => {
    const [a, s] = [phase('async', slowMailMs, clients), phase('sync', slowMailMs, clients)];
    return { clients, asyncP99: a.p99, syncP99: s.p99, ratio: Number((s.p99 / Math.max(a.p99, 1)).toFixed(1)), holds: a.p99 * 20 <= s.p99 };
  });
  const throughputChange = Number((phase('async', slowMailMs, connections).rps / phase('async', 0, connections).rps - 1).toFixed(3));
  for (const t of targets) console.log(`mail ${slowMailMs} ms, ${t.clients} client(s): sync p99 ${t.syncP99} ms vs async p99 ${t.asyncP99} ms (${t.ratio}×; target ≥ 20×: ${t.holds ? 'holds' : 'MISSED'})`);
  console.log(`async POST throughput at ${connections} clients, mail ${slowMailMs} ms vs 0 ms: ${(throughputChange * 100).toFixed(1)} % (target within ±10 %: ${Math.abs(throughputChange) <= 0.1 ? 'holds' : 'MISSED'})`);
  const headline = { syncMs: phase('sync', slowMailMs, 1).p50, asyncMs: phase('async', slowMailMs, 1).p50 };
  console.log(`headline (1 client, mail ${slowMailMs} ms, p50): sync ${headline.syncMs} ms vs async ${headline.asyncMs} ms (${(headline.syncMs / Math.max(headline.asyncMs, 1)).toFixed(0)}×)`);

  console.log(`\nAt rest (${restSeconds} s before the first phase, every group caught up), cores used:`);
  printTable(atRest.map((use) => ({ process: use.process, cores: Number((use.seconds / restSeconds).toFixed(3)) })));

  console.log(`\nGET /healthz ${Math.round(healthz.requests.average)} req/s (p99 ${healthz.latency.p99} ms), GET /orders/:id ${Math.round(read.requests.average)} req/s (p99 ${read.latency.p99} ms) at ${connections} connections`);
  const rawP50 = percentile(raw, 50);
  const rawP99 = percentile(raw, 99);
  const e2eP99 = pacedDone.p99['all three groups'] ?? 0;
  console.log(`\nPaced at ${pacedRate}/s for ${pacedSeconds} s, mail 0 ms: POST p50 ${paced.latency.p50} ms, p99 ${paced.latency.p99} ms; from POST to done (services' timestamps):`);
  printTable([
    ...['all three groups', 'inventory', 'email', 'analytics'].map((what) => ({ 'POST → …': what, orders: pacedDone.done, 'p50 ms': pacedDone.p50[what] ?? 0, 'p99 ms': pacedDone.p99[what] ?? 0 })),
    { 'POST → …': `bare kafkajs produce → consume (${messageSize} B)`, orders: raw.length, 'p50 ms': Math.round(rawP50), 'p99 ms': Math.round(rawP99) },
  ]);
  console.log('where it goes (p50 / p99 ms; the email step is stamped before its SMTP exchange):');
  printTable(pacedParts.map((p) => ({ part: p.part, 'p50 ms': p.p50, 'p99 ms': p.p99 })));
  const pacedOrders = Math.max(pacedDone.orders, 1);
  const busy = pacedCpu.at(-1)!.seconds / (pacedWallSeconds * cpus().length);
  console.log(`CPU per order, from the first POST until all ${pacedDone.orders} were done (${pacedWallSeconds.toFixed(1)} s; the ${cpus().length} cores ${(busy * 100).toFixed(0)} % busy with these processes):`);
  printTable(pacedCpu.map((use) => ({ process: use.process, 'CPU ms per order': Number(((use.seconds / pacedOrders) * 1000).toFixed(1)), cores: Number((use.seconds / pacedWallSeconds).toFixed(2)) })));
  console.log(`end to end p99 ${e2eP99} ms = ${(e2eP99 / Math.max(rawP99, 1)).toFixed(1)}× the bare round trip's (target ≤ 5×: ${e2eP99 <= 5 * rawP99 ? 'holds' : 'MISSED'})`);

  console.log('\nPeak RSS (VmHWM) of each process under this load, MB (target ≤ 150 per service)');
  printTable(
    Object.entries(peaks).map(([process, mb]) => ({
      process,
      'RSS idle at start': memory[process]?.idleRss ?? '-',
      'peak RSS MB': mb,
      'max V8 heap total': memory[process]?.heapTotal ?? '-',
      'max external (buffers)': memory[process]?.external ?? '-',
      target: process === 'mail sink' ? '-' : mb <= 150 ? 'holds' : 'MISSED',
    })),
  );

  const file = writeResults(placement === 'split' ? 'api-split' : 'api', {
    connections,
    durationSeconds: duration,
    pacedRate,
    mailLatencyMs: slowMailMs,
    serviceLogLevel,
    placement,
    servicesFrom,
    vacuumedBeforeEachPhase: !autovacuum,
    serviceNodeOptions: process.env.BENCH_SERVICE_NODE_OPTIONS ?? serviceNodeOptions('order'),
    machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: load1 },
    api: {
      healthz: { rps: healthz.requests.average, p50: healthz.latency.p50, p99: healthz.latency.p99 },
      getOrder: { rps: read.requests.average, p50: read.latency.p50, p99: read.latency.p99 },
    },
    postPhases: phases,
    postToDone: { mail0: doneFast, [`mail${slowMailMs}`]: doneSlow, paced: pacedDone },
    paced: { rps: paced.requests.average, p50: paced.latency.p50, p99: paced.latency.p99 },
    pacedBreakdown: pacedParts,
    pacedCpu: { wallSeconds: pacedWallSeconds, orders: pacedDone.orders, busyFraction: busy, secondsByProcess: pacedCpu },
    atRest: { seconds: restSeconds, secondsByProcess: atRest },
    rawRoundTrip: { messageSize, count: raw.length, p50: rawP50, p99: rawP99 },
    targets: { p99Ratio: targets, asyncThroughputChange: throughputChange, endToEndOverRaw: e2eP99 / Math.max(rawP99, 1) },
    headline,
    peakRssMb: peaks,
    memoryParts: memory,
  });
  console.log(`\nresults: ${file}`);
} finally {
  for (const extra of extras) if (extra.child.exitCode === null && extra.child.signalCode === null) extra.child.kill('SIGTERM');
  await Promise.all(extras.map((extra) => extra.exited));
  await fleet.stopAll();
  await pool.end();
  for (const dir of sinkDirs) rmSync(dir, { recursive: true, force: true });
}
