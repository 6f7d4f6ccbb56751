import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseVariables, kafkaVariables, loadConfig, registryVariables } from '../../shared/config.js';
import { createKafka, type Kafka, type KafkaMessage } from '../../shared/kafka/client.js';
import { provisionTopics } from '../../shared/kafka/provision.js';
import type { TopicDeclaration } from '../../shared/kafka/topology.js';
import { createLogger } from '../../shared/logger.js';
import { AvroSerde } from '../../shared/registry/serde.js';

/** The stack's addresses as a service reads them (the global setup put them in the environment). */
export function testConfig() {
  return loadConfig({ ...kafkaVariables, ...registryVariables, ...databaseVariables });
}

export const testLogger = createLogger('test');

export function testKafka(): Kafka {
  return createKafka(testConfig(), testLogger, 'test');
}

export function testSerde(): AvroSerde {
  return AvroSerde.connect(testConfig().schemaRegistryUrl);
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Reads `topic` from the beginning with a fresh consumer group until `done` says it has seen
 * enough; returns every message read (with its partition).
 */
export async function readTopic(
  topic: string,
  done: (messages: ReadonlyArray<KafkaMessage & { partition: number }>) => boolean,
  timeoutMs = 30_000,
): Promise<Array<KafkaMessage & { partition: number }>> {
  const consumer = testKafka().consumer({ groupId: uniqueId('test-reader'), maxWaitTimeInMs: 100 });
  const messages: Array<KafkaMessage & { partition: number }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        messages.push({ ...message, partition });
      },
    });
    await eventually(async () => (done(messages) ? true : undefined), `messages on ${topic}`, timeoutMs);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** Creates a topic of the test's own (replication factor 1), as declared, and hands it back. */
export async function provisionTestTopic<T>(topic: TopicDeclaration<T>): Promise<TopicDeclaration<T>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await provisionTopics(admin, 1, testLogger, [{ name: topic.name, partitions: topic.partitions, config: topic.config ?? {} }]);
  } finally {
    await admin.disconnect();
  }
  return topic;
}
