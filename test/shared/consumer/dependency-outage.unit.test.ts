import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { DependencyOutage } from '../../../shared/consumer/dependency-outage.js';
import type { InboundEvent } from '../../../shared/consumer/types.js';
import type { Pool } from '../../../shared/db.js';
import { databaseConnectFailure } from '../../../shared/dependency-unavailable.js';
import { DependencyUnavailableError, TransientError } from '../../../shared/errors.js';
import { feed, type ConsumerDependencyWait } from '../../../shared/instrumentation/events.js';
import { subscribeMetrics } from '../../../shared/instrumentation/metrics.js';
import { retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { createLogger } from '../../../shared/logger.js';
import { schemas, type OrderCreated } from '../../../shared/contracts/schemas.js';
import { FakeClientError, FakeControl, FakeKafkaClient, FakeSerde, message } from '../../support/fake-kafka-client.js';

const topic: TopicDeclaration<OrderCreated> = { name: 'outage.orders', partitions: 1, key: 'order id', schema: schemas.OrderCreated };
const group: ConsumerGroupDeclaration = { groupId: 'outage-group', topics: [topic], retry: { attempts: 3 } };
const logger = createLogger('outage-test');
logger.level = 'silent';
/** Short and exact pauses, so a test waits them out for real. */
const backoff = { initialMs: 40, maxMs: 80, jitter: 0 };

function order(n: number): Buffer {
  const value: OrderCreated = {
    eventId: `evt-${n}`,
    orderId: `ord-${n}`,
    customerId: 'c',
    email: 'outage@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    createdAt: 0, clientId: null,
  };
  return FakeSerde.frame(schemas.OrderCreated.type, value);
}

/** Messages from `from` to `to` of partition 0, as a client fetches them (again) from its resolved position. */
const batch = (from: number, to: number) => ({
  topic: topic.name,
  partition: 0,
  messages: Array.from({ length: to - from + 1 }, (_, i) => message(from + i, order(from + i), {}, `ord-${from + i}`)),
});

let client: FakeKafkaClient;
let runtime: ConsumerRuntime | undefined;
let waits: ConsumerDependencyWait[];
let unsubscribe: () => void;

beforeEach(() => {
  client = new FakeKafkaClient();
  waits = [];
  unsubscribe = feed.consumerDependencyWait.subscribe((wait) => waits.push(wait));
});

afterEach(async () => {
  unsubscribe();
  await runtime?.stop();
  runtime = undefined;
});

async function start(handle: (event: InboundEvent<OrderCreated>) => Promise<void>, extra: { pool?: Pool; group?: ConsumerGroupDeclaration } = {}) {
  runtime = new ConsumerRuntime({
    client,
    serde: new FakeSerde(schemas.OrderCreated.type),
    logger,
    group: extra.group ?? group,
    pool: extra.pool,
    stopTimeoutMs: 100,
    dependencyBackoff: backoff,
  }).on(topic, handle);
  await runtime.start();
  return runtime;
}

/** Waits until `control`'s partition was resumed `times` times. */
async function resumed(control: FakeControl, times = 1): Promise<void> {
  for (let waited = 0; control.resumed < times; waited += 5) {
    if (waited > 2000) throw new Error('the partition was never resumed');
    await sleep(5);
  }
}

describe('a dependency outage in the consumer runtime', () => {
  it('holds the partition at the message that met the outage, retries it after a backoff without spending its attempts, and goes on once it passes', async () => {
    let available = false;
    const attempts: Array<[string, number]> = [];
    await start(async (event) => {
      attempts.push([event.value.orderId, event.attempt]);
      if (event.value.orderId === 'ord-1' && !available) throw new DependencyUnavailableError('database refuses connections');
    });

    const first = await client.deliver(batch(0, 2));
    // ord-0 is done; ord-1 is not resolved, so the client fetches from it again; ord-2 waits behind it.
    expect(first.resolved.at(-1)).toBe('0');
    expect(first.paused).toBe(1);
    expect(first.resumed).toBe(0);
    await resumed(first);

    const second = await client.deliver(batch(1, 2));
    expect(second.resolved).toEqual([]);
    expect(second.paused).toBe(1);
    await resumed(second);

    available = true;
    const third = await client.deliver(batch(1, 2));
    expect(third.resolved.at(-1)).toBe('2');
    expect(third.paused).toBe(0);

    // Nothing went to a retry tier or the DLQ, and every try of ord-1 was its first attempt.
    expect(client.sent).toEqual([]);
    expect(attempts).toEqual([
      ['ord-0', 1],
      ['ord-1', 1],
      ['ord-1', 1],
      ['ord-1', 1],
      ['ord-2', 1],
    ]);
    // Pauses grew with each failed try; the pass ended the outage for the partition.
    expect(waits.map((w) => [w.paused, w.pausedPartitions, w.delayMs])).toEqual([
      [true, 1, 40],
      [true, 1, 80],
      [false, 0, 0],
    ]);
    expect(waits[0]).toMatchObject({ group: 'outage-group', topic: topic.name, partition: 0, errorClass: 'DependencyUnavailableError', errorCode: 'DEPENDENCY_UNAVAILABLE' });
  });

  it("recognises the driver's own errors (a backend terminated by the administrator)", async () => {
    let tries = 0;
    await start(async () => {
      if (tries++ === 0) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    });
    const control = await client.deliver(batch(0, 0));
    expect(control.resolved).toEqual([]);
    expect(control.paused).toBe(1);
    expect(client.sent).toEqual([]);
  });

  it('still routes a failure of the message itself through the retry tiers', async () => {
    await start(async () => {
      throw new TransientError('the order is locked');
    });
    const control = await client.deliver(batch(0, 0));
    expect(control.resolved).toEqual(['0']);
    expect(control.paused).toBe(0);
    expect(client.sent.map((s) => s.topic)).toEqual([retryTopicName(topic, group.groupId, 1)]);
    expect(waits).toEqual([]);
  });

  it("lets the Kafka client's own errors through, though they name a refused connection: the client restarts and finds the new coordinator", async () => {
    await start(async (event) => {
      // Long enough for the runtime's commit check, which then meets the dead coordinator.
      if (event.value.orderId === 'ord-0') await sleep(150);
    });
    const control = new FakeControl();
    control.commitOffsetsIfNecessary = async () => {
      throw new FakeClientError('connect ECONNREFUSED 127.0.0.1:9092');
    };
    await expect(client.deliver(batch(0, 1), control)).rejects.toThrow('ECONNREFUSED');
    expect(control.paused).toBe(0);
    expect(waits).toEqual([]);
  });

  it("holds the partition when the runtime's own database calls fail (ordered retries' key queue), instead of failing the batch", async () => {
    let down = true;
    const queries: string[] = [];
    const pool = {
      query: async (sql: string) => {
        queries.push(sql.split(' ')[0]!);
        if (down) throw databaseConnectFailure(Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' }));
        return { rows: [], rowCount: 0 };
      },
    } as unknown as Pool;
    const handled: string[] = [];
    await start(async (event) => void handled.push(event.value.orderId), { pool, group: { ...group, orderedRetries: true } });

    const control = await client.deliver(batch(0, 1));
    expect(control.resolved).toEqual([]);
    expect(control.paused).toBe(1);
    expect(handled).toEqual([]);
    await resumed(control);

    down = false;
    const again = await client.deliver(batch(0, 1));
    expect(again.resolved.at(-1)).toBe('1');
    expect(handled).toEqual(['ord-0', 'ord-1']);
    expect(queries.every((q) => q === 'SELECT')).toBe(true);
  });

  it('holds the partition when a batch handler throws it (nothing of the batch is resolved), and when it reports it for one event', async () => {
    let mode: 'throw' | 'report' | 'ok' = 'throw';
    runtime = new ConsumerRuntime({ client, serde: new FakeSerde(schemas.OrderCreated.type), logger, group, stopTimeoutMs: 100, dependencyBackoff: backoff }).onBatch(
      topic,
      async (events) => {
        if (mode === 'throw') throw new DependencyUnavailableError('store unavailable');
        return mode === 'report' ? [{ event: events[1]!, error: new DependencyUnavailableError('store unavailable') }] : [];
      },
    );
    await runtime.start();
    const thrown = await client.deliver(batch(0, 2));
    expect([thrown.resolved, thrown.paused]).toEqual([[], 1]);
    mode = 'report';
    const reported = await client.deliver(batch(0, 2));
    expect([reported.resolved, reported.paused]).toEqual([[], 1]);
    mode = 'ok';
    await resumed(reported);
    const passed = await client.deliver(batch(0, 2));
    expect([passed.resolved, passed.paused]).toEqual([['2'], 0]);
    expect(client.sent).toEqual([]);
  });

  it('reports the partitions held as a gauge', async () => {
    const registry = new Registry();
    const stop = subscribeMetrics(registry);
    try {
      let available = false;
      await start(async () => {
        if (!available) throw new DependencyUnavailableError('SMTP server unavailable');
      });
      const gauge = async () => (await registry.getSingleMetric('pipeline_consumer_dependency_paused_partitions')!.get()).values[0]?.value;
      const control = await client.deliver(batch(0, 0));
      expect(await gauge()).toBe(1);
      await client.deliver({ ...batch(0, 0), partition: 1 });
      expect(await gauge()).toBe(2);
      await resumed(control);
      available = true;
      await client.deliver(batch(0, 0));
      expect(await gauge()).toBe(1);
      const pauses = (await registry.getSingleMetric('pipeline_consumer_dependency_pauses_total')!.get()).values[0]?.value;
      expect(pauses).toBe(2);
    } finally {
      stop();
    }
  });
});

describe('DependencyOutage', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('doubles the pause per failed try up to its cap, and resumes the partition after each', () => {
    vi.useFakeTimers();
    const outage = new DependencyOutage({ group: 'g', logger, backoff: { initialMs: 1000, maxMs: 4000, jitter: 0 }, isClientError: () => false });
    const control = new FakeControl();
    const delays: number[] = [];
    const stop = feed.consumerDependencyWait.subscribe((wait) => delays.push(wait.delayMs));
    try {
      for (const expected of [1000, 2000, 4000, 4000]) {
        outage.hold({ topic: 't', partition: 0 }, control, new DependencyUnavailableError('down'));
        expect(delays.at(-1)).toBe(expected);
        vi.advanceTimersByTime(expected - 1);
        expect(control.resumed).toBe(delays.length - 1);
        vi.advanceTimersByTime(1);
        expect(control.resumed).toBe(delays.length);
      }
      expect(outage.heldPartitions).toBe(1);
      // A batch that ends while the partition is paused (fetched before the pause) does not end the outage.
      outage.hold({ topic: 't', partition: 0 }, control, new DependencyUnavailableError('down'));
      outage.passed({ topic: 't', partition: 0 });
      expect(outage.heldPartitions).toBe(1);
      vi.advanceTimersByTime(4000);
      outage.passed({ topic: 't', partition: 0 });
      expect(outage.heldPartitions).toBe(0);
      // After a pass the next outage starts from the first pause again.
      outage.hold({ topic: 't', partition: 0 }, control, new DependencyUnavailableError('down'));
      expect(delays.at(-1)).toBe(1000);
    } finally {
      stop();
      outage.stop();
    }
  });

  it('leaves partitions paused once stopped (the consumer is leaving), and forgets held partitions on a rebalance', () => {
    vi.useFakeTimers();
    const outage = new DependencyOutage({ group: 'g', logger, backoff: { initialMs: 1000, maxMs: 1000, jitter: 0 }, isClientError: () => false });
    const control = new FakeControl();
    outage.hold({ topic: 't', partition: 0 }, control, new DependencyUnavailableError('down'));
    outage.hold({ topic: 't', partition: 1 }, control, new DependencyUnavailableError('down'));
    expect(outage.heldPartitions).toBe(2);
    outage.rebalanced();
    expect(outage.heldPartitions).toBe(0);
    outage.stop();
    vi.advanceTimersByTime(5000);
    expect(control.resumed).toBe(0);
  });
});
