import { describe, expect, it } from 'vitest';
import { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { ConsumerOptionsError, resolveOptions, validateHandlers, type ConsumerRuntimeOptions } from '../../../shared/consumer/options.js';
import type { Pool } from '../../../shared/db.js';
import type { ConsumerGroupDeclaration, TopicDeclaration } from '../../../shared/kafka/topology.js';
import { createLogger } from '../../../shared/logger.js';
import { schemas } from '../../../shared/contracts/schemas.js';
import { FakeKafkaClient, FakeSerde } from '../../support/fake-kafka-client.js';

const topic: TopicDeclaration = { name: 'options.topic', partitions: 1, key: 'k', schema: schemas.OrderCreated };
const logger = createLogger('options-test');
const pool = {} as Pool;

function options(group: Partial<ConsumerGroupDeclaration> = {}, rest: Partial<ConsumerRuntimeOptions> = {}): ConsumerRuntimeOptions {
  return {
    client: new FakeKafkaClient(),
    serde: new FakeSerde(schemas.OrderCreated.type),
    logger,
    group: { groupId: 'g', topics: [topic], ...group },
    ...rest,
  };
}

describe('consumer runtime options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions(options());
    expect(resolved).toMatchObject({
      partitionsConsumedConcurrently: 1,
      maxWaitTimeInMs: 500,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3000,
      commitIntervalMs: 1000,
      stopTimeoutMs: 25_000,
      maxUncommittedEvents: undefined,
    });
    expect(resolveOptions(options({}, { sessionTimeoutMs: 6000 })).heartbeatIntervalMs).toBe(2000);
  });

  it('ordered retries need a pool (checked at construction)', () => {
    expect(() => new ConsumerRuntime(options({ orderedRetries: true }))).toThrow(ConsumerOptionsError);
    expect(() => new ConsumerRuntime(options({ orderedRetries: true }, { pool }))).not.toThrow();
  });

  it('maxUncommittedEvents needs batch handlers only', () => {
    const resolved = resolveOptions(options({}, { maxUncommittedEvents: 100 }));
    expect(() => validateHandlers(resolved, ['batch'])).not.toThrow();
    expect(() => validateHandlers(resolved, ['batch', 'event'])).toThrow(/maxUncommittedEvents/);
  });

  it('batch handlers cannot have ordered retries', () => {
    const resolved = resolveOptions(options({ orderedRetries: true }, { pool }));
    expect(() => validateHandlers(resolved, ['event'])).not.toThrow();
    expect(() => validateHandlers(resolved, ['batch'])).toThrow(/ordered retries/);
  });

  it('start() refuses a runtime without handlers or with a bad combination, before connecting', async () => {
    await expect(new ConsumerRuntime(options()).start()).rejects.toThrow(/no handlers/);
    const runtime = new ConsumerRuntime(options({}, { maxUncommittedEvents: 10 })).on(topic, async () => {});
    await expect(runtime.start()).rejects.toThrow(ConsumerOptionsError);
  });
});
