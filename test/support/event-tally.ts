import { setTimeout as sleep } from 'node:timers/promises';
import { HEADERS } from '../../shared/consumer/headers.js';
import { testKafka, uniqueId } from './stack.js';

/**
 * How often each event id (the `event-id` header) is on `topic`, read from the beginning with a fresh
 * group. Reads until every id in `expected` has arrived and the partitions' ends at that moment are
 * reached (so a copy written before the last expected id is counted), or until `timeoutMs` passes;
 * never throws on a timeout: the caller asserts on what arrived.
 */
export async function tallyEventIds(topic: string, expected: Iterable<string>, timeoutMs: number): Promise<Map<string, number>> {
  const waiting = new Set(expected);
  const counts = new Map<string, number>();
  const next = new Map<number, bigint>();
  const kafka = testKafka();
  const admin = kafka.admin();
  const consumer = kafka.consumer({ groupId: uniqueId('test-tally'), maxWaitTimeInMs: 100 });
  await Promise.all([admin.connect(), consumer.connect()]);
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const id = message.headers?.[HEADERS.eventId]?.toString() ?? '';
        counts.set(id, (counts.get(id) ?? 0) + 1);
        waiting.delete(id);
        next.set(partition, BigInt(message.offset) + 1n);
      },
    });
    const deadline = Date.now() + timeoutMs;
    let ends: Array<{ partition: number; high: bigint }> | undefined;
    while (Date.now() < deadline) {
      if (waiting.size === 0) {
        ends ??= (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, high: BigInt(p.high) }));
        if (ends.every(({ partition, high }) => (next.get(partition) ?? 0n) >= high)) break;
      }
      await sleep(100);
    }
    return counts;
  } finally {
    await Promise.all([consumer.disconnect(), admin.disconnect()]);
  }
}
