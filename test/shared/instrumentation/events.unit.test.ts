import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { PermanentError, TransientError } from '../../../shared/errors.js';
import { FEED_CHANNELS, feed, type FeedPayloads } from '../../../shared/instrumentation/events.js';
import { subscribeMetrics } from '../../../shared/instrumentation/metrics.js';
import { dlqTopicName, retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { createLogger } from '../../../shared/logger.js';
import { schemas, type OrderCreated } from '../../../shared/contracts/schemas.js';
import { FakeControl, FakeKafkaClient, FakeSerde, message } from '../../support/fake-kafka-client.js';

const topic: TopicDeclaration<OrderCreated> = { name: 'feed.orders', partitions: 1, key: 'order id', schema: schemas.OrderCreated };
const logger = createLogger('feed-test');
logger.level = 'silent';

function order(n: number): Buffer {
  const value: OrderCreated = {
    eventId: `evt-${n}`,
    orderId: `ord-${n}`,
    customerId: 'c',
    email: 'feed@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    createdAt: 0, clientId: null,
  };
  return FakeSerde.frame(schemas.OrderCreated.type, value);
}

/** Records every payload of every channel of the feed. */
function record() {
  const seen: Array<{ channel: keyof FeedPayloads; payload: unknown }> = [];
  const unsubscribes = (Object.keys(FEED_CHANNELS) as Array<keyof FeedPayloads>).map((name) =>
    (feed[name] as { subscribe(listener: (payload: unknown) => void): () => void }).subscribe((payload) => seen.push({ channel: name, payload })),
  );
  return { seen, stop: () => unsubscribes.forEach((unsubscribe) => unsubscribe()) };
}

let client: FakeKafkaClient;
let runtime: ConsumerRuntime | undefined;
const group: ConsumerGroupDeclaration = { groupId: 'feed-group', topics: [topic], retry: { attempts: 3 } };

beforeEach(() => {
  client = new FakeKafkaClient();
});

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

async function start(handle: (value: OrderCreated) => Promise<void>): Promise<ConsumerRuntime> {
  runtime = new ConsumerRuntime({ client, serde: new FakeSerde(schemas.OrderCreated.type), logger, group, stopTimeoutMs: 100 }).on(topic, (event) =>
    handle(event.value),
  );
  await runtime.start();
  return runtime;
}

describe('event feed', () => {
  it('reports processed events per batch, and what failed per event, with its error class', async () => {
    const feedRecord = record();
    try {
      await start(async (value) => {
        if (value.orderId === 'ord-2') throw new TransientError('try again');
        if (value.orderId === 'ord-3') throw new PermanentError('never');
      });
      expect(runtime!.isReady()).toBe(true);
      const control = await client.deliver({
        topic: topic.name,
        partition: 0,
        messages: [message(0, order(0)), message(1, order(1)), message(2, order(2)), message(3, order(3)), message(4, Buffer.from('not avro'))],
      });
      expect(control.resolved.at(-1)).toBe('4');
      const byChannel = (name: keyof FeedPayloads) => feedRecord.seen.filter((entry) => entry.channel === name).map((entry) => entry.payload);
      expect(byChannel('consumerProcessed')).toEqual([
        expect.objectContaining({ group: 'feed-group', topic: topic.name, deliveredFrom: topic.name, partition: 0, offset: '4', count: 2 }),
      ]);
      expect((byChannel('consumerProcessed')[0] as FeedPayloads['consumerProcessed']).handlerSeconds).toHaveLength(4);
      expect(byChannel('consumerRetried')).toEqual([
        expect.objectContaining({ group: 'feed-group', topic: topic.name, offset: '2', eventId: 'evt-2', attempt: 1, errorClass: 'TransientError' }),
      ]);
      expect(byChannel('consumerDeadLettered')).toEqual([expect.objectContaining({ offset: '3', eventId: 'evt-3', errorClass: 'PermanentError' })]);
      expect(byChannel('consumerPoison')).toEqual([expect.objectContaining({ offset: '4', eventId: `${topic.name}:0:4`, errorClass: 'PoisonPillError' })]);
      // The failures went where the reports say, through the runtime's publisher.
      expect(client.sent.map((send) => send.topic)).toEqual([
        retryTopicName(topic, group.groupId, 1),
        dlqTopicName(topic, group.groupId),
        dlqTopicName(topic, group.groupId),
      ]);
    } finally {
      feedRecord.stop();
    }
  });

  it('reports a retry partition paused until its head is due, and its resume', async () => {
    const feedRecord = record();
    try {
      await start(async () => {});
      const dueAt = Date.now() + 50;
      const control = new FakeControl();
      await client.deliver(
        {
          topic: retryTopicName(topic, group.groupId, 1),
          partition: 0,
          messages: [message(0, order(0), { 'retry-due-at': '0', 'retry-attempt': '1' }), message(1, order(1), { 'retry-due-at': String(dueAt) })],
        },
        control,
      );
      expect(control.resolved).toEqual(['0']);
      expect(control.paused).toBe(1);
      const paused = feedRecord.seen.find((entry) => entry.channel === 'consumerPaused');
      expect(paused?.payload).toEqual({ group: 'feed-group', topic: retryTopicName(topic, group.groupId, 1), partition: 0, until: dueAt });
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(control.resumed).toBe(1);
      expect(feedRecord.seen.some((entry) => entry.channel === 'consumerResumed')).toBe(true);
    } finally {
      feedRecord.stop();
    }
  });

  it('works the same with nobody listening', async () => {
    const handled: string[] = [];
    await start(async (value) => void handled.push(value.orderId));
    const control = await client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0)), message(1, order(1))] });
    expect(handled).toEqual(['ord-0', 'ord-1']);
    expect(control.resolved.at(-1)).toBe('1');
  });

  it('becomes the Prometheus metrics through the metrics subscriber, with the same names and labels', async () => {
    const registry = new Registry();
    const unsubscribe = subscribeMetrics(registry);
    try {
      await start(async (value) => {
        if (value.orderId === 'ord-1') throw new TransientError('again');
      });
      await client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0)), message(1, order(1)), message(2, order(2))] });
      feed.outboxPublished.publish({ table: 'outbox', count: 5 });
      feed.batchFlushed.publish({ reason: 'idle', rows: 10, bytes: 100, seconds: 0.1, inserted: 8, duplicates: 2 });
      const text = await registry.metrics();
      expect(text).toContain('pipeline_consumed_messages_total{group="feed-group",topic="feed.orders",outcome="processed"} 2');
      expect(text).toContain('pipeline_consumed_messages_total{group="feed-group",topic="feed.orders",outcome="retried"} 1');
      expect(text).toContain('pipeline_handler_seconds_count{group="feed-group",topic="feed.orders"} 3');
      expect(text).toContain('pipeline_outbox_published_total{table="outbox"} 5');
      expect(text).toContain('batch_ingestion_rows_written_total 8');
      expect(text).toContain('batch_ingestion_rows_duplicate_total 2');
      expect(text).toContain('batch_ingestion_flushes_total{reason="idle"} 1');
    } finally {
      unsubscribe();
    }
  });
});
