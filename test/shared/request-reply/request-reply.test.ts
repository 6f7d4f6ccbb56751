import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { schemas, type AvailabilityReply, type AvailabilityRequest } from '../../../shared/contracts/schemas.js';
import { applySchema, type Pool } from '../../../shared/db.js';
import { ACKS_ALL, kafkaClient, type Consumer, type Producer } from '../../../shared/kafka/client.js';
import { provisionTopics } from '../../../shared/kafka/provision.js';
import { declareTopic, failureTopics, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { Replier, ReplyError, Requester, ResultStore, requestReplySql, type Outcome } from '../../../shared/request-reply/index.js';
import { inParallel, testPool } from '../../support/order-api.js';
import { testRuntime } from '../../support/runtime.js';
import { eventually, provisionTestTopic, testKafka, testLogger, testSerde } from '../../support/stack.js';

// The platform module against the real broker, registry and database, on topics of this file's own.
// The requester and replier run in this process; the wire-compatibility cases put raw kafkajs,
// written from Spring's and NestJS' header rules only, on the other side.

const run = randomUUID().slice(0, 8);
const serde = testSerde();
let pool: Pool;
let producer: Producer;
const stopAtEnd: Array<() => Promise<unknown>> = [];

async function topicPair(name: string): Promise<{ requests: TopicDeclaration<AvailabilityRequest>; replies: TopicDeclaration<AvailabilityReply> }> {
  return {
    requests: await provisionTestTopic(declareTopic(`test-rr-${name}-req-${run}`, schemas.AvailabilityRequest, { partitions: 3 })),
    replies: await provisionTestTopic(declareTopic(`test-rr-${name}-rep-${run}`, schemas.AvailabilityReply, { partitions: 3 })),
  };
}

function request(sku: string, quantity = 1): AvailabilityRequest {
  return { items: [{ sku, quantity }], requestedAt: Date.now() };
}

const observed = { expired: 0, repeated: 0, dropped: 0, late: 0, timedOut: 0 };

/** The answer: available = quantity + 1 (so each reply names its request), SLOW-* after 800 ms, NOPE a typed error. */
async function answer(value: AvailabilityRequest): Promise<AvailabilityReply> {
  const [item] = value.items;
  if (!item) throw new ReplyError('NO_ITEMS', 422, 'no items');
  if (item.sku === 'NOPE') throw new ReplyError('UNKNOWN_SKU', 422, 'unknown SKU(s) NOPE');
  if (item.sku.startsWith('SLOW')) await sleep(800);
  return { items: [{ sku: item.sku, requested: item.quantity, available: item.quantity + 1, ok: true }], repliedBy: 'test-replier', repliedAt: Date.now() };
}

async function startReplier(requests: TopicDeclaration<AvailabilityRequest>, replies: TopicDeclaration<AvailabilityReply>): Promise<ConsumerRuntime> {
  const group: ConsumerGroupDeclaration = { groupId: `test-rr-replier-${randomUUID().slice(0, 8)}`, topics: [requests], retry: { attempts: 1 } };
  const admin = testKafka().admin();
  await admin.connect();
  await provisionTopics(admin, 1, testLogger, failureTopics(group)).finally(() => admin.disconnect());
  const publisher = kafkaClient(testKafka()).publisher();
  await publisher.connect();
  const replier = new Replier({
    publisher,
    serde,
    requestTopic: requests,
    replyTopic: replies,
    answers: { pool, group: group.groupId },
    answer: (event) => answer(event.value),
    observer: { expired: () => observed.expired++, repeated: () => observed.repeated++ },
  });
  const runtime = testRuntime(group, pool);
  runtime.on(requests, replier.handle);
  await runtime.start();
  stopAtEnd.push(() => runtime.stop(), () => publisher.disconnect());
  return runtime;
}

function newRequester(
  requests: TopicDeclaration<AvailabilityRequest>,
  replies: TopicDeclaration<AvailabilityReply>,
  timeoutMs = 2000,
  replyGroupPrefix = 'test-rr',
) {
  const requester = new Requester({
    client: kafkaClient(testKafka()),
    serde,
    logger: testLogger,
    requestTopic: requests,
    replyTopic: replies,
    replyGroupPrefix,
    results: new ResultStore<AvailabilityReply>(pool),
    timeoutMs,
    deadlineMs: 10_000,
    observer: { dropped: () => observed.dropped++, late: () => observed.late++, timedOut: () => observed.timedOut++ },
  });
  stopAtEnd.push(() => requester.stop());
  return requester;
}

/** A raw consumer of `topic` from its end, collecting every message with its partition. */
async function rawReader(topic: string): Promise<{ consumer: Consumer; seen: Array<{ partition: number; value: Buffer | null; headers: Record<string, Buffer | undefined> }> }> {
  const seen: Array<{ partition: number; value: Buffer | null; headers: Record<string, Buffer | undefined> }> = [];
  const consumer = testKafka().consumer({ groupId: `test-rr-reader-${randomUUID().slice(0, 8)}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) =>
      void seen.push({ partition, value: message.value, headers: message.headers as Record<string, Buffer | undefined> }),
  });
  stopAtEnd.push(() => consumer.disconnect());
  return { consumer, seen };
}

beforeAll(async () => {
  pool = testPool();
  await applySchema(pool, requestReplySql);
  producer = testKafka().producer();
  await producer.connect();
});

afterAll(async () => {
  for (const stop of stopAtEnd.reverse()) await stop().catch(() => undefined);
  await producer?.disconnect();
  await pool?.end();
});

describe('request-reply over Kafka', () => {
  let requests: TopicDeclaration<AvailabilityRequest>;
  let replies: TopicDeclaration<AvailabilityReply>;
  let requester: Requester<AvailabilityRequest, AvailabilityReply>;

  beforeAll(async () => {
    ({ requests, replies } = await topicPair('main'));
    await startReplier(requests, replies);
    requester = newRequester(requests, replies);
  });

  it('answers every request inline with its own reply, once, and the in-flight map returns to 0', async () => {
    const outcomes = await inParallel(Array.from({ length: 300 }, (_, i) => i), 50, (i) => requester.request(null, request(`SKU-${i}`, i + 1)));
    const answered = outcomes.map((outcome, i) => (outcome.kind === 'answer' && outcome.value.items[0]?.sku === `SKU-${i}` && outcome.value.items[0].available === i + 2 ? 1 : 0));
    expect(answered.reduce<number>((a, b) => a + b, 0)).toBe(300);
    expect(new Set(outcomes.map((o) => o.correlationId)).size).toBe(300);
    expect(requester.inFlight).toBe(0);
  });

  it("gives the replier's typed error to the caller, not a timeout", async () => {
    const outcome = await requester.request(null, request('NOPE'));
    expect(outcome).toMatchObject({ kind: 'error', error: { code: 'UNKNOWN_SKU', status: 422 } });
  });

  it('keeps a late reply: a timeout, then the reply in the result store within a second of its arrival', async () => {
    const outcome = await requester.request(null, request('SLOW-1'), { timeoutMs: 100 });
    expect(outcome.kind).toBe('timeout');
    const store = new ResultStore<AvailabilityReply>(pool);
    expect(await store.find(outcome.correlationId)).toMatchObject({ state: 'pending' });
    const found = await eventually(async () => {
      const result = await store.find(outcome.correlationId);
      return result?.state === 'answered' ? { result, at: Date.now() } : undefined;
    }, 'the late reply', 5000);
    expect(found.result).toMatchObject({ state: 'answered', outcome: { kind: 'answer', value: { items: [{ sku: 'SLOW-1' }] } } });
    const repliedAt = found.result.state === 'answered' && found.result.outcome.kind === 'answer' ? found.result.outcome.value.repliedAt : 0;
    expect(found.at - repliedAt).toBeLessThan(1000);
    expect(observed.late).toBe(1);
    expect(requester.inFlight).toBe(0);
  });

  it('drops a request past its deadline unanswered, and counts it', async () => {
    const { seen } = await rawReader(replies.name);
    const before = observed.expired;
    await producer.send({
      topic: requests.name,
      acks: ACKS_ALL,
      messages: [
        {
          key: 'expired',
          value: await serde.encode(requests, request('EXPIRED')),
          headers: {
            kafka_correlationId: Buffer.from(randomUUID().replaceAll('-', ''), 'hex'),
            kafka_replyTopic: replies.name,
            kafka_replyPartition: Buffer.from([0, 0, 0, 0]),
            'request-deadline': String(Date.now() - 1000),
          },
        },
      ],
    });
    await eventually(async () => (observed.expired > before ? true : undefined), 'the expired request to be dropped', 10_000);
    await sleep(300);
    expect(seen.filter((m) => m.value && serde.decodeCached(replies, m.value)?.items[0]?.sku === 'EXPIRED')).toHaveLength(0);
  });

  it('answers a request delivered twice with the same stored reply (idempotent per correlation id)', async () => {
    const { seen } = await rawReader(replies.name);
    const correlation = Buffer.from('nest-style-correlation-1');
    const message = {
      key: 'twice',
      value: await serde.encode(requests, request('TWICE', 3)),
      // NestJS' form: a string correlation id, the partition as a decimal string.
      headers: { kafka_correlationId: correlation, kafka_replyTopic: replies.name, kafka_replyPartition: '2', 'request-deadline': String(Date.now() + 30_000) },
    };
    const before = observed.repeated;
    await producer.send({ topic: requests.name, acks: ACKS_ALL, messages: [message] });
    await producer.send({ topic: requests.name, acks: ACKS_ALL, messages: [message] });
    const twice = await eventually(async () => {
      const mine = seen.filter((m) => m.headers.kafka_correlationId?.equals(correlation));
      return mine.length >= 2 ? mine : undefined;
    }, 'two replies', 10_000);
    expect(twice.map((m) => m.partition)).toEqual([2, 2]);
    expect(twice[0]!.value!.equals(twice[1]!.value!)).toBe(true);
    expect(observed.repeated).toBe(before + 1);
  });
});

describe('wire compatibility: a replier written from Spring Kafka’s header rules', () => {
  it('answers the requester through raw kafkajs: correlation bytes echoed, reply to the 4-byte partition', async () => {
    const { requests, replies } = await topicPair('spring');
    const got: Array<{ correlationLength: number; partitionLength: number }> = [];
    // Spring's @SendTo replier: reply to kafka_replyTopic, partition kafka_replyPartition (a big-endian
    // int), kafka_correlationId copied as it came. No project code on this side but the Avro value.
    const springReplier = testKafka().consumer({ groupId: `test-rr-spring-${run}`, maxWaitTimeInMs: 50 });
    await springReplier.connect();
    await springReplier.subscribe({ topics: [requests.name], fromBeginning: true });
    await springReplier.run({
      eachMessage: async ({ message }) => {
        const headers = message.headers as Record<string, Buffer>;
        const correlation = headers.kafka_correlationId!;
        const partition = headers.kafka_replyPartition!;
        got.push({ correlationLength: correlation.length, partitionLength: partition.length });
        const asked = await serde.decode(requests, message.value);
        await producer.send({
          topic: headers.kafka_replyTopic!.toString(),
          acks: ACKS_ALL,
          messages: [{ partition: partition.readInt32BE(0), value: await serde.encode(replies, await answer(asked)), headers: { kafka_correlationId: correlation } }],
        });
      },
    });
    stopAtEnd.push(() => springReplier.disconnect());
    const requester = newRequester(requests, replies);
    const outcomes: Array<Outcome<AvailabilityReply>> = await inParallel([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, (i) => requester.request(null, request(`SPRING-${i}`, i)));
    expect(outcomes.map((o) => (o.kind === 'answer' ? o.value.items[0]?.available : o.kind))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(got.every((g) => g.correlationLength === 16 && g.partitionLength === 4)).toBe(true);
    expect(requester.inFlight).toBe(0);
  });
});

describe('cold start over a reply topic full of old replies', () => {
  it('reads none of them: no timeouts, nothing dropped, the first request waiting for the assignment', async () => {
    const { requests, replies } = await topicPair('cold');
    // 30,000 replies of an earlier life, on every partition: a reply consumer reading from the start
    // would decode all of them before the first fresh one.
    const stale = await serde.encode(replies, { items: [{ sku: 'OLD', requested: 1, available: 1, ok: true }], repliedBy: 'old', repliedAt: 0 });
    for (let batch = 0; batch < 30; batch++) {
      await producer.send({
        topic: replies.name,
        acks: ACKS_ALL,
        messages: Array.from({ length: 1000 }, (_, i) => ({
          partition: i % 3,
          value: stale,
          headers: { kafka_correlationId: Buffer.from(randomUUID().replaceAll('-', ''), 'hex') },
        })),
      });
    }
    await startReplier(requests, replies);
    const dropped = observed.dropped;
    const timedOut = observed.timedOut;
    // Not started: the first request starts the reply consumer and waits for its assignment.
    const requester = newRequester(requests, replies, 5000);
    expect(requester.isReady()).toBe(false);
    const outcomes = await inParallel(Array.from({ length: 100 }, (_, i) => i), 20, (i) => requester.request(null, request(`COLD-${i}`, i)));
    expect(outcomes.filter((o) => o.kind === 'answer')).toHaveLength(100);
    expect(observed.timedOut - timedOut).toBe(0);
    expect(observed.dropped - dropped).toBe(0);
    expect(requester.inFlight).toBe(0);
  });
});

describe('request-reply: what a requester leaves behind', () => {
  it('deletes its reply group when it stops', async () => {
    const { requests, replies } = await topicPair('gone');
    await startReplier(requests, replies);
    const prefix = `test-rr-gone-${run}`;
    const requester = newRequester(requests, replies, 5000, prefix);
    expect((await requester.request(null, request('SKU-GONE', 2))).kind).toBe('answer');
    const admin = testKafka().admin();
    await admin.connect();
    try {
      const ours = async () => (await admin.listGroups()).groups.filter((group) => group.groupId.startsWith(prefix));
      expect(await ours()).toHaveLength(1);
      await requester.stop();
      expect(await ours()).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
