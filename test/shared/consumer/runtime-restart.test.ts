import { afterAll, describe, expect, it } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { topics } from '../../../shared/contracts/topics.js';
import { TransientError } from '../../../shared/errors.js';
import { kafkaClient } from '../../../shared/kafka/client.js';
import type { ConsumerGroupDeclaration } from '../../../shared/kafka/topology.js';
import { BackgroundConsumer } from '../../../shared/kit/background-consumer.js';
import { AvroSerde } from '../../../shared/registry/serde.js';
import { publishOrders, sampleOrder } from '../../support/orders.js';
import { freePort } from '../../support/processes.js';
import { testGroup } from '../../support/runtime.js';
import { eventually, testConfig, testKafka, testLogger } from '../../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.js';

const proxies: TcpProxy[] = [];
const consumers: BackgroundConsumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((consumer) => consumer.stop()));
  await Promise.all(proxies.map((proxy) => proxy.close()));
});

/**
 * A runtime whose schema registry is down at first: its address is a closed port until the test
 * opens a proxy there to the real registry. Started by the kit's BackgroundConsumer, which stops a
 * failed start and tries again, as a service with an API does.
 */
async function withRegistryDown(group: ConsumerGroupDeclaration) {
  const registry = new URL(testConfig().schemaRegistryUrl);
  const port = await freePort();
  const serde = AvroSerde.connect(`http://127.0.0.1:${port}${registry.pathname}`);
  const runtime = new ConsumerRuntime({ client: kafkaClient(testKafka()), serde, logger: testLogger, group });
  const failedStarts: unknown[] = [];
  const logger = testLogger.child({});
  const warn = logger.warn.bind(logger);
  logger.warn = ((fields: { err?: unknown }, message?: string) => {
    if (message === 'consumer could not start; retrying') failedStarts.push(fields.err);
    return warn(fields, message);
  }) as typeof logger.warn;
  const consumer = new BackgroundConsumer(runtime, logger);
  consumers.push(consumer);
  return {
    runtime,
    consumer,
    failedStarts,
    registryUp: async () => {
      proxies.push(await startTcpProxy(port, { host: registry.hostname, port: Number(registry.port) }));
    },
  };
}

describe('consumer runtime: a start after a failed start', () => {
  it('consumes, and its retry tiers resume when due (the due gate of the failed start is gone)', async () => {
    const group = await testGroup({ retry: { attempts: 3, baseDelayMs: 500, maxDelayMs: 1000, jitterRatio: 0 } });
    const { runtime, consumer, failedStarts, registryUp } = await withRegistryDown(group);
    const order = sampleOrder();
    const attempts: number[] = [];
    runtime.on(topics.orderCreated, async (event) => {
      if (event.eventId !== order.eventId) return;
      attempts.push(event.attempt);
      if (attempts.length === 1) throw new TransientError('fails once');
    });
    consumer.start();
    await eventually(async () => (failedStarts.length > 0 ? true : undefined), 'a failed start');
    expect(String(failedStarts[0])).toContain('schema registry unreachable');

    await registryUp();
    await eventually(async () => (runtime.isReady() ? true : undefined), 'the group joined', 60_000);
    await publishOrders([order]);
    await eventually(async () => (attempts.length === 2 ? true : undefined), 'the retry from retry.1', 30_000);
    expect(attempts).toEqual([1, 2]);
  });

  it('hands batch handlers a context that says it is running', async () => {
    const group = await testGroup();
    const { runtime, consumer, failedStarts, registryUp } = await withRegistryDown(group);
    const order = sampleOrder();
    const running: boolean[] = [];
    runtime.onBatch(topics.orderCreated, async (events, context) => {
      if (events.some((event) => event.eventId === order.eventId)) running.push(context.isRunning());
      return [];
    });
    consumer.start();
    await eventually(async () => (failedStarts.length > 0 ? true : undefined), 'a failed start');

    await registryUp();
    await eventually(async () => (runtime.isReady() ? true : undefined), 'the group joined', 60_000);
    await publishOrders([order]);
    await eventually(async () => (running.length > 0 ? true : undefined), 'the batch handled', 30_000);
    expect(running).toEqual([true]);
  });
});
