/**
 * One member of the consumer group `npm run bench:scale` measures: the shared ConsumerRuntime with
 * an I/O-bound handler (a sleep, like a call to a database or a mail server). Reports every handled
 * message to the parent over IPC; logs (warnings only) go to stdout as JSON.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { kafkaVariables, loadConfig, positiveInt, registryVariables, variable } from '../shared/config.js';
import { ConsumerRuntime } from '../shared/consumer/consumer-runtime.js';
import { createKafka, kafkaClient } from '../shared/kafka/client.js';
import type { TopicDeclaration } from '../shared/kafka/topology.js';
import { createLogger } from '../shared/logger.js';
import { AvroSerde } from '../shared/registry/serde.js';
import { schemas, type OrderCreated } from '../shared/contracts/schemas.js';

export interface Handled {
  partition: number;
  offset: string;
  /** When the handler finished (ms since the epoch). */
  at: number;
}

const config = loadConfig({
  ...kafkaVariables,
  ...registryVariables,
  topic: variable('BENCH_TOPIC', z.string()),
  partitions: variable('BENCH_PARTITIONS', positiveInt),
  groupId: variable('BENCH_GROUP', z.string()),
  handlerMs: variable('BENCH_HANDLER_MS', positiveInt),
  concurrency: variable('BENCH_CONCURRENCY', positiveInt.default(1)),
  sessionTimeoutMs: variable('BENCH_SESSION_TIMEOUT_MS', positiveInt.default(30_000)),
  heartbeatIntervalMs: variable('BENCH_HEARTBEAT_INTERVAL_MS', positiveInt.default(3000)),
});

const logger = createLogger('bench-scale-worker');
logger.level = 'warn';
const topic: TopicDeclaration<OrderCreated> = { name: config.topic, partitions: config.partitions, key: 'order id', schema: schemas.OrderCreated };
const runtime = new ConsumerRuntime({
  client: kafkaClient(createKafka(config, logger, 'bench-scale')),
  serde: AvroSerde.connect(config.schemaRegistryUrl),
  logger,
  group: { groupId: config.groupId, topics: [topic] },
  partitionsConsumedConcurrently: config.concurrency,
  sessionTimeoutMs: config.sessionTimeoutMs,
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  stopTimeoutMs: 5000,
});

runtime.on(topic, async (event) => {
  await sleep(config.handlerMs);
  const handled: Handled = { partition: event.deliveredFrom.partition, offset: event.deliveredFrom.offset, at: Date.now() };
  process.send?.(handled);
});

process.once('SIGTERM', () => void runtime.stop().finally(() => process.exit(0)));
// The parent going away (it crashed, or was killed) must not leave members behind.
process.once('disconnect', () => void runtime.stop().finally(() => process.exit(0)));
await runtime.start();
