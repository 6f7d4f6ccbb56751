import { describe, expect, it } from 'vitest';
import type { ConsumerRuntime } from '../../../shared/consumer/consumer-runtime.js';
import { BackgroundConsumer } from '../../../shared/kit/background-consumer.js';
import type { Logger } from '../../../shared/logger.js';

/** A runtime whose first `failures` starts fail (Kafka unreachable). */
function fakeRuntime(failures: number) {
  const calls = { start: 0, stop: 0 };
  let ready = false;
  const runtime = {
    groupId: 'kit-background',
    start: async () => {
      calls.start++;
      if (calls.start <= failures) throw new Error('broker unreachable');
      ready = true;
    },
    stop: async () => {
      calls.stop++;
      ready = false;
    },
    isReady: () => ready,
  } as unknown as ConsumerRuntime;
  return { runtime, calls };
}

function recordingLogger() {
  const warnings: Array<{ retryInMs: number }> = [];
  const logger = { warn: (fields: { retryInMs: number }) => warnings.push(fields) } as unknown as Logger;
  return { logger, warnings };
}

const until = async (condition: () => boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('BackgroundConsumer', () => {
  it('retries a failed start (stopping the half-started runtime) with 500 ms doubling, until it joins', async () => {
    const { runtime, calls } = fakeRuntime(2);
    const { logger, warnings } = recordingLogger();
    const consumer = new BackgroundConsumer(runtime, logger);
    consumer.start();
    expect(consumer.isReady()).toBe(false);
    await until(() => consumer.isReady());
    expect(calls.start).toBe(3);
    expect(calls.stop).toBe(2);
    expect(warnings.map((w) => w.retryInMs)).toEqual([500, 1000]);
    await consumer.stop();
    expect(consumer.isReady()).toBe(false);
  });

  it('stop() during the pause ends the retries at once', async () => {
    const { runtime, calls } = fakeRuntime(Infinity);
    const consumer = new BackgroundConsumer(runtime, recordingLogger().logger);
    consumer.start();
    await until(() => calls.start === 1 && calls.stop === 1);
    const started = Date.now();
    await consumer.stop();
    expect(Date.now() - started).toBeLessThan(400);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(calls.start).toBe(1);
  });
});
