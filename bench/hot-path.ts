/**
 * `npm run bench:hot-path`: the consumer runtime's per-message cost without a broker. The runtime
 * (no-op handler, metrics on, as in bench/runtime.ts) is driven through its port by the fake client
 * the unit tests use, one fetched batch after another; the baseline is a loop that only decodes the
 * same messages, as a bare eachBatch consumer would. What is left is the runtime's own work per
 * message, with none of kafkajs' fetching or the broker's noise, per second of CPU time (not wall
 * time, which on a shared machine mostly measures the neighbours). A profile of it
 * (`node --cpu-prof --import tsx bench/hot-path.ts`) shows where that work goes.
 *   BENCH_MESSAGES (default 1000000), BENCH_BATCH (messages per fetched batch, default 1000),
 *   BENCH_ROUNDS (default 5)
 */
import { ConsumerRuntime } from '../shared/consumer/consumer-runtime.js';
import { schemas, type OrderCreated } from '../shared/contracts/schemas.js';
import type { ConsumerGroupDeclaration, TopicDeclaration } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
// The metrics registry, as every service has it (its subscriber counts what the runtime reports).
import '../shared/metrics.js';
import { FakeKafkaClient, FakeSerde, message } from '../test/support/fake-kafka-client.js';
import { median, printTable, writeResults } from './support.js';

const total = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const topic: TopicDeclaration<OrderCreated> = { name: 'bench.hot-path', partitions: 1, key: 'order id', schema: schemas.OrderCreated };
const group: ConsumerGroupDeclaration = { groupId: 'bench-hot-path', topics: [topic] };
const logger = createLogger('bench-hot-path');
logger.level = 'warn';

// One batch's messages, delivered again and again (offsets repeat: the fake client does not mind).
const batch = Array.from({ length: batchSize }, (_, i) => {
  const value: OrderCreated = {
    eventId: `evt-${i}`, orderId: `ord-${i}`, customerId: 'c', email: 'bench@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR', createdAt: Date.now(), clientId: null,
  };
  return message(i, FakeSerde.frame(schemas.OrderCreated.type, value), {}, value.orderId);
});
const batches = Math.ceil(total / batchSize);

/**
 * Messages per second of this process's CPU time: on a shared machine the wall clock mostly
 * measures the neighbours, while the CPU time a message costs stays put.
 */
function start(): { rate: (count: number) => number } {
  const cpu = process.cpuUsage();
  return {
    rate: (count) => {
      const { user, system } = process.cpuUsage(cpu);
      return count / ((user + system) / 1e6);
    },
  };
}

async function bare(): Promise<number> {
  const serde = new FakeSerde(schemas.OrderCreated.type);
  await serde.decode(topic, batch[0]!.value);
  let seen = 0;
  const clock = start();
  for (let b = 0; b < batches; b++) {
    // As kafkajs calls eachBatch: one async call per batch.
    await (async () => {
      for (const m of batch) if (serde.decodeCached(topic, m.value) ?? (await serde.decode(topic, m.value))) seen++;
    })();
  }
  return clock.rate(seen);
}

async function runtime(): Promise<number> {
  const client = new FakeKafkaClient();
  let seen = 0;
  const consumer = new ConsumerRuntime({ client, serde: new FakeSerde(schemas.OrderCreated.type), logger, group }).on(topic, async () => void seen++);
  await consumer.start();
  const clock = start();
  for (let b = 0; b < batches; b++) await client.deliver({ topic: topic.name, partition: 0, messages: batch });
  const rate = clock.rate(seen);
  await consumer.stop();
  return rate;
}

const rates: Record<string, number[]> = { 'decode only (bare loop)': [], 'consumer runtime (no-op handler)': [] };
for (let round = 1; round <= rounds; round++) {
  rates['decode only (bare loop)']!.push(await bare());
  rates['consumer runtime (no-op handler)']!.push(await runtime());
}
const baseline = median(rates['decode only (bare loop)']!);
const rows = Object.entries(rates).map(([contender, values]) => ({
  contender,
  'msgs per CPU-s (median)': Math.round(median(values)),
  'ratio to baseline': median(values) / baseline,
}));
printTable(rows);
console.log(`results: ${writeResults('hot-path', { messages: total, batchSize, rounds, rates, rows })}`);
