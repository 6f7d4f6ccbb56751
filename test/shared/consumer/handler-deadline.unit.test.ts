import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsumerRuntime, type ConsumerRuntimeOptions } from '../../../shared/consumer/consumer-runtime.js';
import { HandlerTimeoutError } from '../../../shared/consumer/handler-deadline.js';
import { Liveness } from '../../../shared/consumer/liveness.js';
import { schemas, type OrderCreated } from '../../../shared/contracts/schemas.js';
import { createHttpServer } from '../../../shared/http.js';
import { retryTopicName, type ConsumerGroupDeclaration, type TopicDeclaration } from '../../../shared/kafka/topology.js';
import { createLogger } from '../../../shared/logger.js';
import { FakeKafkaClient, FakeSerde, message } from '../../support/fake-kafka-client.js';

const topic: TopicDeclaration<OrderCreated> = { name: 'deadline.orders', partitions: 1, key: 'order id', schema: schemas.OrderCreated };
const group: ConsumerGroupDeclaration = { groupId: 'deadline-group', topics: [topic], retry: { attempts: 3 } };
const logger = createLogger('deadline-test');
logger.level = 'silent';
const handlerTimeoutMs = 100;

function order(n: number): Buffer {
  const value: OrderCreated = {
    eventId: `evt-${n}`,
    orderId: `ord-${n}`,
    customerId: 'c',
    email: 'deadline@example.com',
    items: [{ sku: 'SKU-001', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    createdAt: 0, clientId: null,
  };
  return FakeSerde.frame(schemas.OrderCreated.type, value);
}

/** A client whose publisher never answers: the retry path itself hangs, which no handler deadline covers. */
class HangingPublisherClient extends FakeKafkaClient {
  override publisher(): ReturnType<FakeKafkaClient['publisher']> {
    return { ...super.publisher(), send: () => new Promise<undefined>(() => undefined) };
  }
}

const never = new Promise<void>(() => undefined);
let runtime: ConsumerRuntime | undefined;

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

function create(client: FakeKafkaClient, options: Partial<ConsumerRuntimeOptions> = {}): ConsumerRuntime {
  runtime = new ConsumerRuntime({ client, serde: new FakeSerde(schemas.OrderCreated.type), logger, group, stopTimeoutMs: 100, handlerTimeoutMs, ...options });
  return runtime;
}

describe('handler deadline', () => {
  it('abandons a handler call that never settles: its signal aborts and the event takes its retry path', async () => {
    const client = new FakeKafkaClient();
    const signals: AbortSignal[] = [];
    const handled: string[] = [];
    await create(client)
      .on(topic, async (event) => {
        signals.push(event.signal);
        if (event.value.orderId === 'ord-0') return never;
        handled.push(event.value.orderId);
      })
      .start();

    const started = Date.now();
    const control = await client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0)), message(1, order(1))] });

    expect(Date.now() - started).toBeGreaterThanOrEqual(handlerTimeoutMs - 5);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(HandlerTimeoutError);
    expect(signals[1]!.aborted).toBe(false);
    // The next event was handled and both offsets are done: the partition moves on.
    expect(handled).toEqual(['ord-1']);
    expect(control.resolved.at(-1)).toBe('1');
    const retried = client.sent.filter((send) => send.topic === retryTopicName(topic, group.groupId, 1)).flatMap((send) => send.messages);
    expect(retried).toHaveLength(1);
    expect(String(retried[0]!.headers?.['failure-error-code'])).toBe('HANDLER_TIMEOUT');
    expect(String(retried[0]!.headers?.['failure-error-class'])).toBe('HandlerTimeoutError');
    expect(runtime!.isLive()).toBe(true);
  });

  it('abandons a handler that never reads its signal as well; one that reads it only after its deadline finds it aborted', async () => {
    const client = new FakeKafkaClient();
    const late: AbortSignal[] = [];
    await create(client)
      .on(topic, async (event) => {
        if (event.value.orderId === 'ord-0') return never;
        // Still running past its deadline, and only then looking at its signal.
        await sleep(2 * handlerTimeoutMs);
        late.push(event.signal);
      })
      .start();

    await client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0)), message(1, order(1))] });
    await vi.waitFor(() => expect(late).toHaveLength(1));

    const retried = client.sent.filter((send) => send.topic === retryTopicName(topic, group.groupId, 1)).flatMap((send) => send.messages);
    expect(retried.map((sent) => String(sent.headers?.['failure-error-code']))).toEqual(['HANDLER_TIMEOUT', 'HANDLER_TIMEOUT']);
    expect(late[0]!.aborted).toBe(true);
    expect(late[0]!.reason).toBeInstanceOf(HandlerTimeoutError);
  });

  it('makes no AbortController for a call whose handler does not read its signal (one per message cost more than the message)', async () => {
    const client = new FakeKafkaClient();
    const made = { count: 0 };
    class CountedAbortController extends AbortController {
      constructor() {
        super();
        made.count++;
      }
    }
    vi.stubGlobal('AbortController', CountedAbortController);
    try {
      let reads = 0;
      await create(client)
        .on(topic, async (event) => {
          if (event.value.orderId === 'ord-1') expect((reads++, event.signal.aborted)).toBe(false);
        })
        .start();
      await client.deliver({ topic: topic.name, partition: 0, messages: [0, 1, 2, 3].map((n) => message(n, order(n))) });
      expect(reads).toBe(1);
      expect(made.count).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('fails a batch handler that passes its deadline, and lets one that heartbeats go on', async () => {
    const client = new FakeKafkaClient();
    let calls = 0;
    await create(client)
      .onBatch(topic, async (_events, context) => {
        calls++;
        if (calls === 1) return never.then(() => []);
        // Waiting on purpose, heartbeating: three deadlines long.
        for (let i = 0; i < 6; i++) {
          await sleep(handlerTimeoutMs / 2);
          await context.heartbeat();
        }
        expect(context.signal.aborted).toBe(false);
        return [];
      })
      .start();

    await expect(client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0))] })).rejects.toBeInstanceOf(HandlerTimeoutError);
    const control = await client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0))] });
    expect(control.resolved).toEqual(['0']);
  });
});

describe('liveness (stall detector)', () => {
  it('is live while idle however long, and while work in flight makes progress; stalled after stallAfterMs without', () => {
    let now = 0;
    const liveness = new Liveness(300, () => now);
    now = 10_000;
    expect(liveness.isLive()).toBe(true);

    liveness.batchStarted();
    now += 299;
    expect(liveness.isLive()).toBe(true);
    liveness.progress();
    now += 299;
    expect(liveness.isLive()).toBe(true);
    now += 1;
    expect(liveness.isLive()).toBe(false);
    expect(liveness.stalledForMs()).toBe(300);

    // A second batch starting does not reset the clock: the first is still stuck.
    liveness.batchStarted();
    expect(liveness.isLive()).toBe(false);
    liveness.batchSettled();
    expect(liveness.isLive()).toBe(true);
    liveness.batchSettled();
    now += 60_000;
    expect(liveness.isLive()).toBe(true);
  });

  it('reports a member whose batch is stuck outside any handler as not live after 3 deadlines, and /healthz answers 503', async () => {
    const client = new HangingPublisherClient();
    await create(client)
      .on(topic, async () => {
        throw new Error('fails, and its retry publish hangs');
      })
      .start();
    const app = createHttpServer({ logger, ready: () => true, live: () => runtime!.isLive() });
    await app.ready();
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);

    void client.deliver({ topic: topic.name, partition: 0, messages: [message(0, order(0))] });
    expect(runtime!.isLive()).toBe(true);
    await sleep(3 * handlerTimeoutMs + 50);
    expect(runtime!.isLive()).toBe(false);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(503);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await app.close();
  });
});
