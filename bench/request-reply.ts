/**
 * `npm run bench:request-reply`: the round trip of POST /availability (HTTP → request topic →
 * inventory's replier → reply topic → HTTP answer) at 1 and at 50 concurrent clients, against a raw
 * kafkajs round trip on the same broker in the same run: a producer sends, a consumer in another
 * group echoes to a reply topic, a third consumer reads the echo. Same acks (all) and fetch wait
 * (100 ms) as the module. Target: p99 of POST /availability at 1 client ≤ 2 × the raw p99.
 *
 * Runs against the stack of the environment (the local stack is started if needed) with the order
 * API and one inventory member as child processes. Each phase is closed-loop: every client sends its
 * next request when its previous one is answered.
 *   BENCH_DURATION (s per phase, default 10), BENCH_LOG_LEVEL (services' LOG_LEVEL, default warn)
 */
import { randomUUID } from 'node:crypto';
import { kafkaVariables, loadConfig } from '../shared/config.js';
import { ACKS_ALL, createKafka } from '../shared/kafka/client.js';
import { defaultMaxWaitTimeInMs } from '../shared/kafka/port.js';
import { provisionTopics } from '../shared/kafka/provision.js';
import { createLogger } from '../shared/logger.js';
import { ServiceFleet } from '../test/support/services.js';
import { printTable, provisionedStack, stopFleetOnSignal, writeResults } from './support.js';
import { authorization } from '../test/support/api-client.js';

const durationMs = Number(process.env.BENCH_DURATION ?? 10) * 1000;
const serviceLogLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const clientCounts = [1, 50];

await provisionedStack();

const logger = createLogger('bench-request-reply');
logger.level = 'warn';
const kafka = createKafka(loadConfig(kafkaVariables), logger, 'bench-request-reply');
const fleet = new ServiceFleet();
const run = randomUUID().slice(0, 8);

stopFleetOnSignal(fleet);

interface Phase {
  what: string;
  clients: number;
  requests: number;
  failed: number;
  p50: number;
  p99: number;
  rps: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** `clients` closed loops of `roundTrip` for the bench's duration, after a second of warm-up. */
async function closedLoop(what: string, clients: number, roundTrip: (n: number) => Promise<boolean>): Promise<Phase> {
  let n = 0;
  const warmUntil = Date.now() + 1000;
  while (Date.now() < warmUntil) await roundTrip(n++);
  const latencies: number[] = [];
  let failed = 0;
  const endAt = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < endAt) {
        const t0 = performance.now();
        const ok = await roundTrip(n++);
        if (ok) latencies.push(performance.now() - t0);
        else failed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const phase = { what, clients, requests: latencies.length, failed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), rps: latencies.length / (durationMs / 1000) };
  console.log(`${what} @${clients}: p50 ${phase.p50.toFixed(1)} ms, p99 ${phase.p99.toFixed(1)} ms, ${phase.requests} round trips`);
  return phase;
}

/** The raw round trip: produce, echo by a consumer of another group, consume the echo. */
async function rawRoundTrips(): Promise<{ phases: Phase[]; close: () => Promise<void> }> {
  const requestTopic = `bench-rr-raw-req-${run}`;
  const replyTopic = `bench-rr-raw-rep-${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await provisionTopics(admin, Number(process.env.TOPIC_REPLICATION_FACTOR ?? 1), logger, [
    { name: requestTopic, partitions: 6, config: {} },
    { name: replyTopic, partitions: 6, config: {} },
  ]);
  const producer = kafka.producer();
  const echoProducer = kafka.producer();
  const echo = kafka.consumer({ groupId: `bench-rr-echo-${run}`, maxWaitTimeInMs: defaultMaxWaitTimeInMs });
  const replies = kafka.consumer({ groupId: `bench-rr-replies-${run}`, maxWaitTimeInMs: defaultMaxWaitTimeInMs });
  const waiting = new Map<string, () => void>();
  await Promise.all([producer.connect(), echoProducer.connect(), echo.connect(), replies.connect()]);
  await echo.subscribe({ topics: [requestTopic], fromBeginning: true });
  await replies.subscribe({ topics: [replyTopic], fromBeginning: true });
  await echo.run({
    partitionsConsumedConcurrently: 6,
    eachMessage: async ({ message }) => {
      await echoProducer.send({ topic: replyTopic, acks: ACKS_ALL, messages: [{ key: message.key, value: message.value }] });
    },
  });
  await replies.run({ eachMessage: async ({ message }) => waiting.get(message.key!.toString())?.() });
  const roundTrip = async (): Promise<boolean> => {
    const id = randomUUID();
    const answered = new Promise<void>((resolve) => waiting.set(id, resolve));
    await producer.send({ topic: requestTopic, acks: ACKS_ALL, messages: [{ key: id, value: Buffer.from('{"items":[{"sku":"SKU-001","quantity":1}]}') }] });
    await answered;
    waiting.delete(id);
    return true;
  };
  const phases = [];
  for (const clients of clientCounts) phases.push(await closedLoop('raw kafkajs round trip', clients, roundTrip));
  return {
    phases,
    close: async () => {
      await Promise.all([producer.disconnect(), echoProducer.disconnect(), echo.disconnect(), replies.disconnect()]);
      await admin.deleteTopics({ topics: [requestTopic, replyTopic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

try {
  console.log('starting the order API and an inventory member…');
  const env = { LOG_LEVEL: serviceLogLevel };
  const [order] = await Promise.all([fleet.start('order', env), fleet.start('inventory', env)]);
  const url = `${order!.url}/availability`;
  const ask = async (n: number): Promise<boolean> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authorization() },
      body: JSON.stringify({ items: [{ sku: `SKU-${String((n % 30) + 1).padStart(3, '0')}`, quantity: 1 }] }),
    });
    await response.arrayBuffer();
    return response.status === 200;
  };

  const raw = await rawRoundTrips();
  const availability: Phase[] = [];
  for (const clients of clientCounts) availability.push(await closedLoop('POST /availability', clients, ask));
  await raw.close();

  const rows = clientCounts.flatMap((clients, i) => {
    const base = raw.phases[i]!;
    const ours = availability[i]!;
    return [base, ours].map((phase) => ({
      'round trip': phase.what,
      clients,
      'round trips': phase.requests,
      'per s': Math.round(phase.rps),
      'p50 ms': Number(phase.p50.toFixed(1)),
      'p99 ms': Number(phase.p99.toFixed(1)),
      'p99 vs raw': phase === base ? '1.00×' : `${(phase.p99 / base.p99).toFixed(2)}×`,
      failed: phase.failed,
    }));
  });
  console.log(`\nRequest-reply round trip (${durationMs / 1000} s per phase, services at LOG_LEVEL=${serviceLogLevel})`);
  printTable(rows);
  const ratio = availability[0]!.p99 / raw.phases[0]!.p99;
  console.log(`target: p99 at 1 client ≤ 2 × raw: ${ratio.toFixed(2)}× ${ratio <= 2 ? '(met)' : '(NOT met)'}`);
  const file = writeResults('request-reply', { durationSeconds: durationMs / 1000, serviceLogLevel, raw: raw.phases, availability, p99RatioAt1Client: ratio });
  console.log(`results: ${file}`);
} finally {
  await fleet.stopAll();
}
process.exit(0);
