/**
 * patches/kafkajs+2.2.4.patch (applied by `npm ci` through patch-package): kafkajs's request queue
 * scheduled a pending-request check after every response even with nothing pending, with a negative
 * delay (throttledUntil starts at -1). Node runs that as 1 ms, so every connection looped every
 * millisecond, and Node 23+ warns each time (TimeoutNegativeWarning).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Entry {
  correlationId: number;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface RequestQueue {
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  push(request: { entry: Entry; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}

// kafkajs has no exports map; the queue is internal, so it is loaded by path from the installed package.
const require = createRequire(import.meta.url);
const kafkajsRoot = path.dirname(require.resolve('kafkajs/package.json'));
const RequestQueueClass = require(path.join(kafkajsRoot, 'src/network/requestQueue/index.js')) as new (options: object) => RequestQueue;
const silent = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function queue(maxInFlightRequests = 1): RequestQueue {
  return new RequestQueueClass({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'b:9092', logger: silent });
}

function request(correlationId: number) {
  const entry: Entry = { correlationId, apiKey: 3, apiName: 'Metadata', apiVersion: 6, resolve: () => {}, reject: () => {} };
  let sent = false;
  return { request: { entry, expectResponse: true, sendRequest: () => void (sent = true) }, sent: () => sent };
}

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
const queues: RequestQueue[] = [];

afterEach(() => {
  process.off('warning', onWarning);
  warnings.length = 0;
  for (const q of queues.splice(0)) q.destroy();
});

describe('kafkajs request queue (patched)', () => {
  it('schedules no check after a response when nothing is pending, and Node warns about no negative timeout', async () => {
    process.on('warning', onWarning);
    const q = queue();
    queues.push(q);
    const { request: first } = request(1);
    q.push(first);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(q.throttleCheckTimeoutId).toBeNull();
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((warning) => warning.name)).not.toContain('TimeoutNegativeWarning');
  });

  it('still sends a request that had to wait, once the one in flight is answered', () => {
    const q = queue(1);
    queues.push(q);
    const first = request(1);
    const second = request(2);
    q.push(first.request);
    q.push(second.request);
    expect([first.sent(), second.sent()]).toEqual([true, false]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(second.sent()).toBe(true);
  });

  it('still sends a waiting request when client-side throttling ends', async () => {
    const q = queue(10);
    queues.push(q);
    q.maybeThrottle(30);
    const waiting = request(1);
    q.push(waiting.request);
    expect(waiting.sent()).toBe(false);
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(waiting.sent()).toBe(true);
  });
});
