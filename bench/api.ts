/**
 * `npm run bench:api`: the order API under 50 concurrent clients, and how long an order takes from
 * its POST until all three groups (inventory, email, analytics) are done with it.
 *
 * Runs against the stack of the environment (the local stack is started if needed) with the five
 * services (order, inventory, email, analytics, payments) as child processes and the payment
 * provider simulator in this process: orders are paid, so "status CONFIRMED" includes the
 * authorization and the capture. Phases, one after the other, in the same run:
 *   1. GET /healthz at 50 connections: the HTTP floor of the same process (the baseline);
 *   2. GET /orders/:id at 50 connections: one database read per request;
 *   3. POST /orders at 50 connections for BENCH_DURATION seconds (saturation), then the drain;
 *   4. POST /orders paced at BENCH_RATE orders/s (below saturation): the pipeline's own latency.
 * "All three groups done" is measured with the services' own timestamps (same machine clock): the
 * order's created_at and the time each service reports for its step, so no polling blurs it.
 * The bench sets the stock of SKU-001..SKU-030 high, so orders confirm.
 *   BENCH_DURATION (s, default 15), BENCH_CONNECTIONS (default 50), BENCH_RATE (default 20),
 *   BENCH_LOG_LEVEL (services' LOG_LEVEL, default warn)
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { createPool } from '../shared/db.js';
import { consumerGroups, topics } from '../shared/contracts/topics.js';
import { createLogger } from '../shared/logger.js';
import { groupLag } from '../test/support/kafka-groups.js';
import { ServiceFleet } from '../test/support/services.js';
import { startPayments, startProvider } from '../test/support/payments.js';
import { printTable, provisionedStack, stopFleetOnSignal, writeResults } from './support.js';
import { authorization } from '../test/support/api-client.js';

const duration = Number(process.env.BENCH_DURATION ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const pacedRate = Number(process.env.BENCH_RATE ?? 20);
const serviceLogLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const SKUS = Array.from({ length: 30 }, (_, i) => `SKU-${String(i + 1).padStart(3, '0')}`);

const stack = await provisionedStack();

const logger = createLogger('bench-api');
logger.level = 'warn';
const pool = createPool(stack.env.DATABASE_URL, logger, { max: 2 });
const fleet = new ServiceFleet();
const run = randomUUID().slice(0, 8);

stopFleetOnSignal(fleet);

interface Row extends Record<string, string | number> {
  phase: string;
  'req/s': number;
  'p50 ms': number;
  'p99 ms': number;
  requests: number;
  'non-2xx': number;
  'vs healthz': string;
}

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
function postRequest(prefix: string, next: () => number): autocannon.Request {
  return {
    method: 'POST',
    path: '/orders',
    headers: { 'content-type': 'application/json', ...authorization() },
    setupRequest: (request) => ({ ...request, body: orderBody(prefix, next()) }),
  };
}

async function load(title: string, options: autocannon.Options): Promise<autocannon.Result> {
  console.log(`${title}…`);
  return autocannon({ connections, duration, ...options, title });
}

function row(phase: string, result: autocannon.Result, baseline?: autocannon.Result): Row {
  return {
    phase,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    requests: result.requests.total,
    'non-2xx': result.non2xx + result.errors,
    'vs healthz': baseline ? `${((result.requests.average / baseline.requests.average) * 100).toFixed(0)} %` : '100 %',
  };
}

interface Completion {
  orders: number;
  drainSeconds: number;
  p50: Record<string, number>;
  p99: Record<string, number>;
}

/** Waits until every order of `prefix` has all three steps, then reads the latencies (ms) from the services' timestamps. */
async function completion(prefix: string, loadEnded: number): Promise<Completion> {
  const pattern = `${prefix}-%`;
  for (;;) {
    const { rows } = await pool.query<{ orders: number; done: number }>(
      `SELECT count(*)::int AS orders,
              count(*) FILTER (WHERE (SELECT count(*) FROM order_steps s WHERE s.order_id = o.id AND s.step IN ('inventory', 'email', 'analytics')) = 3
                                 AND o.status IN ('CONFIRMED', 'REJECTED'))::int AS done
         FROM orders o WHERE o.customer_id LIKE $1`,
      [pattern],
    );
    if (rows[0]!.orders > 0 && rows[0]!.done === rows[0]!.orders) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const drainSeconds = (Date.now() - loadEnded) / 1000;
  const { rows } = await pool.query<{ what: string; orders: number; p50: number; p99: number }>(
    `WITH t AS (
       SELECT o.created_at,
              max(s.occurred_at) FILTER (WHERE s.step = 'inventory') AS inventory,
              max(s.occurred_at) FILTER (WHERE s.step = 'email') AS email,
              max(s.occurred_at) FILTER (WHERE s.step = 'analytics') AS analytics,
              o.updated_at AS status
         FROM orders o JOIN order_steps s ON s.order_id = o.id
        WHERE o.customer_id LIKE $1 GROUP BY o.id),
     d AS (
       SELECT 'all three groups' AS what, greatest(inventory, email, analytics) - created_at AS latency FROM t
       UNION ALL SELECT 'inventory', inventory - created_at FROM t
       UNION ALL SELECT 'email', email - created_at FROM t
       UNION ALL SELECT 'analytics', analytics - created_at FROM t
       UNION ALL SELECT 'status CONFIRMED', status - created_at FROM t)
     SELECT what, count(*)::int AS orders,
            (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p50,
            (percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM latency)) * 1000)::float8 AS p99
       FROM d GROUP BY what`,
    [pattern],
  );
  return {
    orders: rows[0]?.orders ?? 0,
    drainSeconds,
    p50: Object.fromEntries(rows.map((r) => [r.what, Math.round(r.p50)])),
    p99: Object.fromEntries(rows.map((r) => [r.what, Math.round(r.p99)])),
  };
}

try {
  console.log('starting order, inventory, email, analytics, payments and the payment provider simulator…');
  const env = { LOG_LEVEL: serviceLogLevel };
  // Orders are paid (authorize, then capture on confirm): the provider simulator runs in this process.
  const provider = await startProvider();
  const [order] = await Promise.all([
    fleet.start('order', env),
    fleet.start('inventory', env),
    fleet.start('email', env),
    fleet.start('analytics', env),
    startPayments(fleet, provider, env),
  ]);
  for (const [group, topic] of [
    [consumerGroups.payments, topics.paymentCommands],
    [consumerGroups.inventory, topics.inventoryReserveRequested],
    [consumerGroups.email, topics.orderCreated],
    [consumerGroups.analytics, topics.orderCreated],
  ] as const) {
    while ((await groupLag(group.groupId, topic.name)) > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await pool.query('UPDATE stock SET available = 1000000 WHERE sku = ANY($1::text[])', [SKUS]);
  const url = order!.url;

  const healthz = await load('GET /healthz', { url: `${url}/healthz` });
  const sample = await fetch(`${url}/orders`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...authorization() }, body: orderBody(`bench-${run}-sample`, 0) });
  const { orderId } = (await sample.json()) as { orderId: string };
  const read = await load('GET /orders/:id', { url: `${url}/orders/${orderId}`, headers: authorization() });

  let burstCount = 0;
  const burstPrefix = `bench-${run}-burst`;
  const burst = await load(`POST /orders, ${connections} connections, ${duration} s`, {
    url,
    requests: [postRequest(burstPrefix, () => burstCount++)],
  });
  console.log('waiting for the three groups to finish the burst…');
  const burstDone = await completion(burstPrefix, Date.now());

  let pacedCount = 0;
  const pacedPrefix = `bench-${run}-paced`;
  const paced = await load(`POST /orders paced at ${pacedRate}/s`, {
    url,
    requests: [postRequest(pacedPrefix, () => pacedCount++)],
    connections: 5,
    overallRate: pacedRate,
  });
  const pacedDone = await completion(pacedPrefix, Date.now());

  console.log(`\nOrder API (${connections} concurrent clients, ${duration} s per phase, services at LOG_LEVEL=${serviceLogLevel})`);
  printTable([
    row('GET /healthz (baseline)', healthz),
    row('GET /orders/:id', read, healthz),
    row('POST /orders', burst, healthz),
    row(`POST /orders paced ${pacedRate}/s`, paced, healthz),
  ]);
  const latencyRows = (label: string, done: Completion) =>
    ['all three groups', 'inventory', 'email', 'analytics', 'status CONFIRMED'].map((what) => ({
      run: label,
      'POST → …': what,
      orders: done.orders,
      'p50 ms': done.p50[what] ?? 0,
      'p99 ms': done.p99[what] ?? 0,
    }));
  console.log('\nFrom POST to done (services\' timestamps)');
  printTable([...latencyRows(`paced ${pacedRate}/s`, pacedDone), ...latencyRows(`burst @${connections}`, burstDone)]);
  console.log(`burst: the groups finished ${burstDone.drainSeconds.toFixed(1)} s after the load ended`);

  const file = writeResults('api', {
    connections,
    durationSeconds: duration,
    pacedRate,
    serviceLogLevel,
    api: {
      healthz: { rps: healthz.requests.average, p50: healthz.latency.p50, p99: healthz.latency.p99 },
      getOrder: { rps: read.requests.average, p50: read.latency.p50, p99: read.latency.p99, ratioToHealthz: read.requests.average / healthz.requests.average },
      postOrder: {
        rps: burst.requests.average,
        p50: burst.latency.p50,
        p99: burst.latency.p99,
        total: burst.requests.total,
        non2xx: burst.non2xx,
        errors: burst.errors,
        ratioToHealthz: burst.requests.average / healthz.requests.average,
      },
      pacedPost: { rps: paced.requests.average, p50: paced.latency.p50, p99: paced.latency.p99 },
    },
    postToDone: { paced: pacedDone, burst: burstDone },
  });
  console.log(`\nresults: ${file}`);
  for (const service of fleet.started) await fleet.stop(service);
  await provider.close();
} finally {
  await fleet.stopAll();
  await pool.end();
}
