/**
 * `npm run chaos`: faults under load against a real stack of its own (its own STACK_DIR, ports and
 * embedded PostgreSQL, never the shared test stack or the machine's PostgreSQL), with the services
 * as real processes. Each scenario places CHAOS_ORDERS orders from CHAOS_CLIENTS clients while it
 * breaks something, then checks the stores: every accepted order final, one mail each, analytics
 * rows = 2 × orders + lines and none twice, stock conserved. Prints one table, writes
 * bench/results/chaos.json, and exits non-zero unless every scenario lost 0 and duplicated 0.
 *
 *   CHAOS_ORDERS (2000), CHAOS_CLIENTS (16), CHAOS_SCENARIOS (all: consumer-kills, order-kill,
 *   broker-sigterm, broker-sigkill, postgres-outage, broker-loss), CHAOS_OUTAGE_S (60),
 *   CHAOS_DRAIN_TIMEOUT_S (300), CHAOS_STACK_DIR (.stack-chaos), CHAOS_LOG_LEVEL (warn)
 */
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { topology } from '../shared/contracts/topics.js';
import { provisionTopology } from '../shared/kafka/provision.js';
import { createLogger } from '../shared/logger.js';
import { repoRoot } from '../stack/layout.js';
import { down, localStack, serviceEnv, up, type LocalStack } from '../stack/local-stack.js';
import { runScenario, type ScenarioResult } from './chaos/run.js';
import { allScenarios } from './chaos/scenarios/index.js';
import { printTable, writeResults } from './support.js';

const orders = Number(process.env.CHAOS_ORDERS ?? 2000);
const clients = Number(process.env.CHAOS_CLIENTS ?? 16);
const outageSeconds = Number(process.env.CHAOS_OUTAGE_S ?? 60);
const drainTimeoutMs = Number(process.env.CHAOS_DRAIN_TIMEOUT_S ?? 300) * 1000;
const stackDir = path.resolve(process.env.CHAOS_STACK_DIR ?? path.join(repoRoot, '.stack-chaos'));
const scenarios = allScenarios(outageSeconds);
const selected = (process.env.CHAOS_SCENARIOS ?? Object.keys(scenarios).join(','))
  .split(',')
  .map((id) => id.trim())
  .filter(Boolean);
for (const id of selected) {
  if (!scenarios[id]) {
    console.error(`unknown scenario ${id}; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
}

/**
 * The chaos stack's addresses: ports of its own, PostgreSQL where only its embedded one runs. All
 * below 32768, outside Linux's ephemeral range (ip_local_port_range), where an outgoing connection
 * can hold a port a restarted broker then fails to bind.
 */
const chaosEnv = (brokers: number) => ({
  STACK_DIR: stackDir,
  KAFKA_BROKERS_COUNT: String(brokers),
  KAFKA_BROKERS: '127.0.0.1:31092',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:31081/apis/ccompat/v7',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:31432/order_pipeline_chaos',
  SMTP_URL: 'smtp://127.0.0.1:31525',
  MAIL_SINK_URL: 'http://127.0.0.1:31025',
});

// The jars of another local stack of this checkout when there is one (160 MB not fetched twice).
if (!existsSync(path.join(stackDir, 'lib'))) {
  const source = [path.join(repoRoot, '.stack', 'lib'), path.join(repoRoot, '.stack-test', 'lib')].find((dir) => existsSync(dir));
  mkdirSync(stackDir, { recursive: true });
  if (source) symlinkSync(source, path.join(stackDir, 'lib'));
}

const log = (line: string) => console.log(line);
// Ctrl-C: exit, so the fleets' exit hooks kill their service processes (the stack keeps running).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
let current: LocalStack | undefined;

/** The chaos stack with `brokers` brokers, provisioned for it (RF 3 and min ISR 2 with three). */
async function stackWith(brokers: number): Promise<LocalStack> {
  if (current?.brokers === brokers) return current;
  if (current) {
    // Another broker count: its brokers go, the rest (PostgreSQL, registry, mail) stays.
    await down(current, current.components.filter((c) => c.name.startsWith('kafka')).map((c) => c.name));
  }
  const source = { ...process.env, ...chaosEnv(brokers) };
  Object.assign(process.env, { MAIL_SINK_URL: source.MAIL_SINK_URL });
  const stack = localStack(source);
  const rows = await up(stack, (line) => log(`[stack] ${line}`));
  const foreign = rows.filter((row) => row.state === 'external');
  if (foreign.length > 0) throw new Error(`not the chaos stack's own: ${foreign.map((r) => `${r.component} at ${r.address}`).join(', ')}`);
  const env = serviceEnv(stack);
  const logger = createLogger('chaos');
  logger.level = 'warn';
  const config = loadConfig({ ...kafkaVariables, ...registryVariables }, env);
  await provisionTopology(config, logger, topology, 'chaos');
  current = stack;
  return stack;
}

const results: ScenarioResult[] = [];
let failure: unknown;
try {
  for (const id of selected) {
    const scenario = scenarios[id]!;
    const stack = await stackWith(scenario.brokers ?? 1);
    log(`${scenario.name}: ${orders} orders, ${clients} clients`);
    const result = await runScenario(scenario, {
      env: { ...serviceEnv(stack), LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'warn' },
      mailSinkUrl: chaosEnv(1).MAIL_SINK_URL,
      orders,
      clients,
      drainTimeoutMs,
      basePort: 31200,
      logDir: path.join(stack.layout.logs, 'chaos', id),
      stack,
      log,
    });
    results.push(result);
    const drain = result.drainSeconds < 0 ? 'never drained' : `drained in ${result.drainSeconds.toFixed(1)} s`;
    log(
      `${scenario.name}: lost ${result.lost}, duplicated ${result.duplicated} (DLQ'd ${result.dlqd}, ${drain}, longest stall ${result.longestStallSeconds.toFixed(0)} s)${result.passed ? '' : '  FAILED'}`,
    );
  }
} catch (error) {
  failure = error;
  console.error(`chaos run aborted: ${error instanceof Error ? error.stack : String(error)}`);
} finally {
  if (current) await down(current);
}

if (results.length > 0) {
  printTable(
    results.map((r) => ({
      scenario: r.scenario,
      orders: r.orders,
      lost: r.lost,
      'duplicated effects': r.duplicated,
      "DLQ'd": r.dlqd,
      'time to drain (s)': r.drainSeconds < 0 ? 'never' : r.drainSeconds.toFixed(1),
      'longest stall (s)': r.longestStallSeconds.toFixed(0),
      result: r.passed ? 'pass' : 'FAIL',
    })),
  );
}
console.log(`results: ${writeResults('chaos', { orders, clients, outageSeconds, results })}`);
process.exit(failure !== undefined || results.some((r) => !r.passed) ? 1 : 0);
