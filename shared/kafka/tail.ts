import type { Kafka } from 'kafkajs';
import { defaultMaxWaitTimeInMs, type Tail, type TailOptions } from './port.js';

/**
 * The port's tail over kafkajs. kafkajs cannot assign a partition by hand (kafkajs #373), so the
 * tail is the only member of its own group, which gives it every partition; it pauses all but its
 * own. It seeks to the partition's end as read before joining: "latest" resolved by kafkajs at its
 * first fetch would skip a reply appended between the join and that fetch (spring-kafka #2318).
 * Its group is deleted when it disconnects.
 */
export function kafkaTail(kafka: Kafka, options: TailOptions): Tail {
  const { topic, partition } = options;
  const consumer = kafka.consumer({
    groupId: options.groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? defaultMaxWaitTimeInMs,
    allowAutoTopicCreation: false,
  });
  return {
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      let ends: Array<{ partition: number; offset: string }>;
      try {
        ends = await admin.fetchTopicOffsets(topic);
      } finally {
        await admin.disconnect();
      }
      const end = ends.find((p) => p.partition === partition);
      if (!end) throw new Error(`${topic} has no partition ${partition}`);
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      // run() resolves once the group is joined and synced.
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        eachMessage: async ({ partition: from, message }) => {
          if (from === partition) options.onMessage(message);
        },
      });
      const others = ends.map((p) => p.partition).filter((p) => p !== partition);
      if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
      consumer.seek({ topic, partition, offset: end.offset });
    },
    async disconnect() {
      await consumer.disconnect();
      // The group was the tail's alone and a restart makes a new one: leave none behind. (A crashed
      // tail's empty group goes when its offsets expire, offsets.retention.minutes.)
      const admin = kafka.admin({ retry: { retries: 1 } });
      try {
        await admin.connect();
        await admin.deleteGroups([options.groupId]);
      } catch {
        // Best effort: the group is empty either way.
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
