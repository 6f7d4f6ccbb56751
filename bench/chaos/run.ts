import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { topology } from '../../shared/contracts/topics.js';
import { databaseVariables, kafkaVariables, loadConfig } from '../../shared/config.js';
import { createPool } from '../../shared/db.js';
import { createKafka } from '../../shared/kafka/client.js';
import { physicalTopics } from '../../shared/kafka/topology.js';
import { createLogger } from '../../shared/logger.js';
import type { LocalStack } from '../../stack/local-stack.js';
import { settled, stockSnapshot, verdict, type Verdict } from './conservation.js';
import { Fleet, type ServiceName } from './fleet.js';
import { makeOrders } from '../../test/support/order-mix.js';
import { placeOrders, type Load } from './load.js';

/** What a scenario's fault injection works with. */
export interface ChaosContext {
  fleet: Fleet;
  load: Load;
  /** The stack, when the run owns it (`npm run chaos`); absent against a shared stack. */
  stack?: LocalStack;
  note: (line: string) => void;
}

export interface Scenario {
  name: string;
  /** Kafka brokers the scenario needs (default 1). */
  brokers?: number;
  /** Instances per service (default 1 each). */
  scale?: Partial<Record<ServiceName, number>>;
  /** True when it stops stack parts, so it cannot run against a shared stack. */
  ownsStack?: boolean;
  /** Injects the faults while the load runs; resolves once everything it broke is back. */
  disturb: (context: ChaosContext) => Promise<void>;
}

export interface RunOptions {
  /** The services' environment: the stack's addresses and anything else they need. */
  env: Record<string, string>;
  mailSinkUrl: string;
  orders: number;
  clients: number;
  drainTimeoutMs: number;
  basePort: number;
  logDir: string;
  stack?: LocalStack;
  log?: (line: string) => void;
}

export interface ScenarioResult {
  scenario: string;
  /** Longest time no accepted order reached its final status while some were still open. */
  longestStallSeconds: number;
  orders: number;
  lost: number;
  duplicated: number;
  dlqd: number;
  /** From the last order accepted (and the faults over) until the stores add up; -1: never. */
  drainSeconds: number;
  loadSeconds: number;
  passed: boolean;
  verdict: Verdict;
  notes: string[];
}

/** Messages on every DLQ topic: the growth over a run is what it dead-lettered. */
async function dlqMessages(env: Record<string, string>): Promise<number> {
  const config = loadConfig(kafkaVariables, env);
  const logger = createLogger('chaos');
  logger.level = 'error';
  const admin = createKafka(config, logger, 'chaos').admin();
  await admin.connect();
  try {
    const dlqs = physicalTopics(topology).filter((topic) => topic.name.endsWith('.dlq'));
    let total = 0;
    for (const topic of dlqs) total += (await admin.fetchTopicOffsets(topic.name)).reduce((sum, p) => sum + Number(p.high), 0);
    return total;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Samples, once a second, how many accepted orders are final; `stop()` gives the longest time the
 * count stood still while orders were still open (a stall, e.g. during a leader election).
 */
function watchStalls(pool: pg.Pool, load: Load): { stop: () => Promise<number> } {
  let running = true;
  let longest = 0;
  const watching = (async () => {
    let lastFinal = -1;
    let since = Date.now();
    while (running) {
      const ids = load.accepted.map((a) => a.orderId);
      const final = await pool
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE id = ANY($1::uuid[]) AND status IN ('CONFIRMED', 'REJECTED')`, [ids])
        .then((result) => result.rows[0]!.n)
        // The database being down is a stall too: the count stands still.
        .catch(() => lastFinal);
      const now = Date.now();
      if (final !== lastFinal || final >= ids.length) since = now;
      else longest = Math.max(longest, (now - since) / 1000);
      lastFinal = final;
      await sleep(1000);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await watching;
      return longest;
    },
  };
}

/** What inventory's schema seeds: some orders of a scenario's mix are reserved and paid, some rejected. */
const stockPerSkuAtStart = 100;

/**
 * One scenario: the services as processes, `orders` orders from `clients` clients while the
 * scenario injects its faults, then waits until the stores add up (or the drain timeout) and
 * reports what was lost or duplicated.
 */
export async function runScenario(scenario: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(line);
    log(`  ${scenario.name}: ${line}`);
  };
  const quiet = createLogger('chaos');
  // Its own idle connections dropping during a database outage are expected.
  quiet.level = 'error';
  const pool: pg.Pool = createPool(loadConfig(databaseVariables, options.env).databaseUrl, quiet, { max: 2 });
  const fleet = new Fleet({ env: options.env, basePort: options.basePort, logDir: options.logDir });
  let stalls: { stop: () => Promise<number> } | undefined;
  try {
    await fleet.startAll(scenario.scale);
    log(`  ${scenario.name}: ${fleet.members.length} service processes ready`);
    // Every scenario starts from the same stock: without it the first used it up, and every later
    // one rejected all its orders, so no payment was captured under its fault.
    await pool.query('UPDATE stock SET available = $1 WHERE available < $1', [stockPerSkuAtStart]);
    const before = await stockSnapshot(pool);
    const dlqBefore = await dlqMessages(options.env);
    const runId = randomUUID().slice(0, 8);
    const domain = `chaos-${runId}.example`;
    const started = Date.now();
    const load = placeOrders(makeOrders(options.orders, domain, 11, 'chaos'), options.clients, () => fleet.orderUrl(), runId);
    stalls = watchStalls(pool, load);
    const context: ChaosContext = { fleet, load, note, ...(options.stack ? { stack: options.stack } : {}) };
    await Promise.all([load.finished, scenario.disturb(context)]);
    const loadEnd = Date.now();
    note(`load over in ${((loadEnd - started) / 1000).toFixed(1)} s (${load.retries()} retried requests)`);

    // Drained: every effect of every accepted order is there. Duplicates are judged after that.
    let last = await verdict(pool, options.mailSinkUrl, domain, load.accepted, before, fleet.providerUrl());
    while (last.lost > 0 && Date.now() - loadEnd < options.drainTimeoutMs) {
      await sleep(1000);
      last = await verdict(pool, options.mailSinkUrl, domain, load.accepted, before, fleet.providerUrl()).catch(() => last);
    }
    const drainSeconds = last.lost === 0 ? (Date.now() - loadEnd) / 1000 : -1;
    const longestStallSeconds = await stalls.stop();
    // Late duplicates (a redelivery after the last effect): a second look a little later.
    await sleep(3000);
    last = await verdict(pool, options.mailSinkUrl, domain, load.accepted, before, fleet.providerUrl());
    const dlqd = (await dlqMessages(options.env)) - dlqBefore;
    if (!settled(last)) note(`not settled: ${JSON.stringify(last)}`);
    note(`money: captured − refunded ${last.capturedMinusRefundedCents} cents, CONFIRMED totals ${last.confirmedTotalCents} cents, ${last.moneyBroken.length} orders off`);
    return {
      scenario: scenario.name,
      longestStallSeconds,
      orders: load.accepted.length,
      lost: last.lost,
      duplicated: last.duplicated,
      dlqd,
      drainSeconds,
      loadSeconds: (loadEnd - started) / 1000,
      passed: settled(last) && load.accepted.length === options.orders,
      verdict: last,
      notes,
    };
  } finally {
    await stalls?.stop();
    await fleet.stopAll();
    await pool.end();
  }
}
