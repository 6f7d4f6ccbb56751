import { kafkaClient } from '../../shared/kafka/client.js';
import { randomUUID } from 'node:crypto';
import { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import type { Pool } from '../../shared/db.js';
import { provisionTopics } from '../../shared/kafka/provision.js';
import { topics } from '../../shared/contracts/topics.js';
import { failureTopics, type ConsumerGroupDeclaration, type RetryPolicy } from '../../shared/kafka/topology.js';
import { testKafka, testLogger, testSerde } from './stack.js';

/**
 * A consumer group that exists only for one test: its own retry and DLQ topics, provisioned now, and
 * its offsets on order.created set to the end, so it reads what the test publishes and not the
 * topic's history (which grows with every test run against a long-lived stack).
 */
export async function testGroup(
  options: { orderedRetries?: boolean; retry?: RetryPolicy } = {},
): Promise<ConsumerGroupDeclaration> {
  const group: ConsumerGroupDeclaration = {
    groupId: `test-${randomUUID().slice(0, 8)}`,
    topics: [topics.orderCreated],
    ...options,
  };
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await provisionTopics(admin, 1, testLogger, failureTopics(group));
    // The end offsets themselves: kafkajs' resetOffsets(latest) stores -1, which a new member reads as "from the beginning".
    const ends = await admin.fetchTopicOffsets(topics.orderCreated.name);
    await admin.setOffsets({
      groupId: group.groupId,
      topic: topics.orderCreated.name,
      partitions: ends.map(({ partition, high }) => ({ partition, offset: high })),
    });
  } finally {
    await admin.disconnect();
  }
  return group;
}

export function testRuntime(group: ConsumerGroupDeclaration, pool?: Pool): ConsumerRuntime {
  return new ConsumerRuntime({ client: kafkaClient(testKafka()), serde: testSerde(), logger: testLogger, group, pool });
}
