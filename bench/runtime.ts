/**
 * `npm run bench:runtime`: consumer throughput of the shared runtime against a bare kafkajs
 * consumer on the same topic in the same run. The baseline is a bare `eachBatch` consumer that
 * also decodes every value (what any consumer of Avro events must do at least); the runtime runs
 * with a no-op handler and its Prometheus metrics on, as in a service. Each contender reads all N
 * messages with a fresh group; rounds alternate so machine noise hits all alike. Ratios, not
 * absolute numbers, matter.
 *   BENCH_MESSAGES (default 100000: at 20000 one pass lasts ~60 ms and scheduling noise on a shared
 *   machine decides the ratio), BENCH_ROUNDS (default 3)
 */
import { randomUUID } from 'node:crypto';
import { kafkaVariables, loadConfig, registryVariables } from '../shared/config.js';
import { ConsumerRuntime } from '../shared/consumer/consumer-runtime.js';
import { ACKS_ALL, createIdempotentProducer, createKafka, kafkaClient } from '../shared/kafka/client.js';
import { provisionTopics } from '../shared/kafka/provision.js';
import { failureTopics, type ConsumerGroupDeclaration, type TopicDeclaration } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
// The metrics registry, as every service has it (its subscriber counts what the runtime reports).
import '../shared/metrics.js';
import { AvroSerde } from '../shared/registry/serde.js';
import { schemas, type OrderCreated } from '../shared/contracts/schemas.js';
import { localStack, up } from '../stack/local-stack.js';
import { median, printTable, writeResults } from './support.js';

const total = Number(process.env.BENCH_MESSAGES ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const stack = localStack();
await up(stack);
const config = loadConfig({ ...kafkaVariables, ...registryVariables }, { ...process.env, ...stack.env });
const logger = createLogger('bench-runtime');
logger.level = 'warn';
const kafka = createKafka(config, logger, 'bench');
const serde = AvroSerde.connect(config.schemaRegistryUrl);

// A topic of this run only, carrying the production OrderCreated schema.
const topic: TopicDeclaration<OrderCreated> = { name: `bench.runtime.${randomUUID().slice(0, 8)}`, partitions: 6, key: 'order id', schema: schemas.OrderCreated };
const groupOf = (groupId: string): ConsumerGroupDeclaration => ({ groupId, topics: [topic] });

const admin = kafka.admin();
await admin.connect();
await provisionTopics(admin, 1, logger, [{ name: topic.name, partitions: topic.partitions, config: {} }]);

console.log(`producing ${total} messages to ${topic.name}…`);
const producer = createIdempotentProducer(kafka);
await producer.connect();
for (let sent = 0; sent < total; sent += 1000) {
  const messages = await Promise.all(
    Array.from({ length: Math.min(1000, total - sent) }, async (_, i) => {
      const orderId = `ord-${sent + i}`;
      const value: OrderCreated = {
        eventId: `evt-${sent + i}`, orderId, customerId: 'c', email: 'bench@example.com',
        items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR', createdAt: Date.now(), clientId: null,
      };
      return { key: orderId, value: await serde.encode(topic, value) };
    }),
  );
  await producer.send({ topic: topic.name, acks: ACKS_ALL, messages });
}
await producer.disconnect();

/** Resolves with messages/s once `count` messages were seen, timing from the first one. */
function meter(): { seen: () => void; done: Promise<number> } {
  let count = 0;
  let first = 0;
  let resolve: (rate: number) => void = () => {};
  const done = new Promise<number>((r) => (resolve = r));
  return {
    seen: () => {
      if (count++ === 0) first = performance.now();
      if (count === total) resolve(total / ((performance.now() - first) / 1000));
    },
    done,
  };
}

/** A bare kafkajs consumer: eachMessage without decoding, or eachBatch decoding every value. */
async function bare(mode: 'eachMessage' | 'eachBatch + decode'): Promise<number> {
  const { seen, done } = meter();
  const consumer = kafka.consumer({ groupId: `bench-bare-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: topic.name, fromBeginning: true });
  if (mode === 'eachMessage') {
    await consumer.run({ eachMessage: async () => seen() });
  } else {
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          // Synchronous once the writer schema is cached, as a tuned bare consumer would do it.
          const value = serde.decodeCached(topic, message.value) ?? (await serde.decode(topic, message.value));
          if (value) seen();
        }
      },
    });
  }
  const rate = await done;
  await consumer.disconnect();
  return rate;
}

async function runtime(): Promise<number> {
  const { seen, done } = meter();
  const group = groupOf(`bench-runtime-${randomUUID()}`);
  await provisionTopics(admin, 1, logger, failureTopics(group));
  const consumer = new ConsumerRuntime({ client: kafkaClient(kafka), serde, logger, group }).on(topic, async () => seen());
  await consumer.start();
  const rate = await done;
  await consumer.stop();
  return rate;
}

const baselineName = 'bare kafkajs eachBatch + Avro decode';
const rates: Record<string, number[]> = { [baselineName]: [], 'bare kafkajs eachMessage (no decode)': [], 'consumer runtime (no-op handler)': [] };
for (let round = 1; round <= rounds; round++) {
  rates[baselineName]!.push(await bare('eachBatch + decode'));
  rates['bare kafkajs eachMessage (no decode)']!.push(await bare('eachMessage'));
  rates['consumer runtime (no-op handler)']!.push(await runtime());
  console.log(`round ${round}/${rounds} done`);
}
await admin.deleteTopics({ topics: [topic.name] }).catch(() => undefined);
await admin.disconnect();

const baseline = median(rates[baselineName]!);
const rows = Object.entries(rates).map(([contender, values]) => ({
  contender,
  'msgs/s (median)': Math.round(median(values)),
  'ratio to baseline': median(values) / baseline,
}));
printTable(rows);
console.log(`results: ${writeResults('runtime', { messages: total, rounds, rates, rows })}`);
