import { describe, expect, it } from 'vitest';
import { brokerCount, stackEnv } from '../../stack/layout.js';
import { localStack, serviceEnv } from '../../stack/local-stack.js';

describe('the local stack with several brokers', () => {
  it('keeps one broker, and KAFKA_BROKERS as given, by default', () => {
    expect(brokerCount({})).toBe(1);
    expect(stackEnv({ KAFKA_BROKERS: 'a:1,b:2' }).KAFKA_BROKERS).toBe('a:1,b:2');
    const stack = localStack({ STACK_DIR: '/tmp/x' });
    expect(stack.components.map((c) => c.name)).toEqual(['kafka', 'postgres', 'schema-registry', 'mail']);
    expect(serviceEnv(stack)).not.toHaveProperty('TOPIC_REPLICATION_FACTOR');
  });

  it('places three brokers two ports apart (controllers on port + 1) and provisions 3 replicas', () => {
    const stack = localStack({ STACK_DIR: '/tmp/x', KAFKA_BROKERS_COUNT: '3', KAFKA_BROKERS: '127.0.0.1:29092' });
    expect(stack.env.KAFKA_BROKERS).toBe('127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096');
    expect(stack.components.map((c) => c.name)).toEqual(['kafka-1', 'kafka-2', 'kafka-3', 'postgres', 'schema-registry', 'mail']);
    expect(serviceEnv(stack).TOPIC_REPLICATION_FACTOR).toBe('3');
  });

  it('refuses a broker list that does not match the count', () => {
    expect(() => stackEnv({ KAFKA_BROKERS_COUNT: '3', KAFKA_BROKERS: 'a:1,b:2' })).toThrow(/names 2 brokers/);
    expect(() => brokerCount({ KAFKA_BROKERS_COUNT: 'x' })).toThrow(/KAFKA_BROKERS_COUNT/);
  });
});
