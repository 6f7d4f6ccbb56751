import { describe, expect, it } from 'vitest';
import { DecodedEvent } from '../../../shared/consumer/inbound-event.js';
import type { BatchContext, InboundEvent } from '../../../shared/consumer/types.js';
import type { AnalyticsEvent } from '../../../shared/contracts/schemas.js';
import { ValueReleasedError } from '../../../shared/errors.js';
import { feed, type FlushReason } from '../../../shared/instrumentation/events.js';
import { createLogger } from '../../../shared/logger.js';
import { MicroBatcher } from '../../../services/batch-ingestion/batcher.js';
import { RowRejectedError, StoreUnavailableError } from '../../../services/batch-ingestion/errors.js';
import { maxFieldBytes } from '../../../services/batch-ingestion/rows.js';
import type { WriteResult } from '../../../services/batch-ingestion/store.js';
import { makeEvents } from './helpers.js';

const logger = createLogger('test');
const context: BatchContext = { heartbeat: async () => undefined, isRunning: () => true, logger, signal: new AbortController().signal };

function inbound(value: AnalyticsEvent): InboundEvent<AnalyticsEvent> {
  return {
    value,
    key: value.orderId,
    headers: {},
    eventId: value.eventId,
    correlationId: undefined,
    topic: 'analytics.events',
    deliveredFrom: { topic: 'analytics.events', partition: 0, offset: '0' },
    attempt: 1,
    logger,
    signal: context.signal,
  };
}

/** A store that fails every write holding `poison` with `error`, and answers probes as told. */
class FakeStore {
  readonly stored: string[] = [];
  probes = 0;
  constructor(
    private readonly poison: string,
    private readonly error: () => Error,
    private readonly answers: boolean,
  ) {}

  async write(chunks: readonly Buffer[], rows: number): Promise<WriteResult> {
    const lines = Buffer.concat(chunks).toString().trimEnd().split('\n');
    expect(lines).toHaveLength(rows);
    if (lines.some((line) => line.startsWith(`${this.poison}\t`))) throw this.error();
    this.stored.push(...lines.map((line) => line.split('\t')[0]!));
    return { inserted: rows };
  }

  async probe(): Promise<boolean> {
    this.probes++;
    return this.answers;
  }
}

const options = { maxRows: 1000, maxBytes: 1 << 20, maxWaitMs: 5, flushWhenIdle: true, maxConcurrentFlushes: 1, maxAttempts: 4 };
const fast = { initialMs: 1, maxMs: 5 };

describe('MicroBatcher and rows that fail outside class 22/23', () => {
  it('a write failing with 54000 while the store answers probes: the row is isolated as rejected, the others stored', async () => {
    const events = makeEvents('probe', 101);
    const bad = events[37]!.eventId;
    const store = new FakeStore(bad, () => new StoreUnavailableError('analytics store unavailable: 54000 index row size', {}, '54000'), true);
    const batcher = new MicroBatcher(store, { ...options, backoff: fast }, logger);
    const failures = await batcher.submit(events.map(inbound), context);
    expect(failures.map((f) => f.event.eventId)).toEqual([bad]);
    expect(failures[0]!.error).toBeInstanceOf(RowRejectedError);
    expect((failures[0]!.error as RowRejectedError).sqlState).toBe('54000');
    expect(store.stored.sort()).toEqual(events.map((e) => e.eventId).filter((id) => id !== bad).sort());
  });

  it('a connection failure, or a statement timeout, stays an outage however the probe answers', async () => {
    for (const error of [
      () => new StoreUnavailableError('analytics store unavailable: ECONNRESET'),
      () => new StoreUnavailableError('analytics store unavailable: 57014 canceling statement due to statement timeout', {}, '57014'),
    ]) {
      const events = makeEvents('outage', 10);
      const store = new FakeStore(events[3]!.eventId, error, true);
      let running = true;
      const batcher = new MicroBatcher(store, { ...options, backoff: fast }, logger);
      const pending = batcher.submit(events.map(inbound), { ...context, isRunning: () => running });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      running = false;
      await expect(pending).rejects.toThrow(/stopping/);
      expect(store.probes).toBe(0);
      expect(store.stored).toEqual([]);
    }
  });

  it('while the probe fails (the server is down), 54000-like failures are waited out too', async () => {
    const events = makeEvents('down', 10);
    const store = new FakeStore(events[3]!.eventId, () => new StoreUnavailableError('54000', {}, '54000'), false);
    let running = true;
    const batcher = new MicroBatcher(store, { ...options, backoff: fast }, logger);
    const pending = batcher.submit(events.map(inbound), { ...context, isRunning: () => running });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    running = false;
    await expect(pending).rejects.toThrow(/stopping/);
    expect(store.probes).toBeGreaterThan(0);
    expect(store.stored).toEqual([]);
  });

  it('a text field over the length bound is rejected before any write (22001)', async () => {
    const events = makeEvents('long', 3);
    events[1]!.eventId = 'é'.repeat(maxFieldBytes);
    const store = new FakeStore('none', () => new Error('unexpected'), true);
    const failures = await new MicroBatcher(store, { ...options, backoff: fast }, logger).submit(events.map(inbound), context);
    expect(failures.map((f) => (f.error as RowRejectedError).sqlState)).toEqual(['22001']);
    expect(store.stored).toEqual([events[0]!.eventId, events[2]!.eventId]);
  });
});

describe('MicroBatcher and the events it holds', () => {
  it("releases each event's decoded value once its row is built; a row the store rejects is still reported by its event id", async () => {
    const events = makeEvents('release', 20);
    const decoded = events.map(
      (value, offset) => new DecodedEvent(value, 'analytics.events', { key: null, value: null, offset: String(offset), timestamp: '0' }, { topic: 'analytics.events', partition: 0 }, logger),
    );
    const bad = events[7]!.eventId;
    const store = new FakeStore(bad, () => new StoreUnavailableError('analytics store unavailable: 54000 index row size', {}, '54000'), true);
    const batcher = new MicroBatcher(store, { ...options, backoff: fast }, logger);
    const written = batcher.submit(decoded as ReadonlyArray<InboundEvent<AnalyticsEvent>>, context);
    // While the write is in flight the batch holds its rows' bytes, not the decoded values.
    expect(() => decoded[0]!.value).toThrow(ValueReleasedError);
    const failures = await written;
    expect(failures.map((f) => f.event.eventId)).toEqual([bad]);
    expect(failures[0]!.event.deliveredFrom).toEqual({ topic: 'analytics.events', partition: 0, offset: '7' });
    expect(store.stored).toHaveLength(19);
  });
});

describe('MicroBatcher: why a batch is flushed', () => {
  async function reasonsOf(batcherOptions: typeof options, batches: number[]): Promise<FlushReason[]> {
    const reasons: FlushReason[] = [];
    const unsubscribe = feed.batchFlushed.subscribe((report) => reasons.push(report.reason));
    try {
      const batcher = new MicroBatcher(new FakeStore('none', () => new Error('unused'), true), { ...batcherOptions, backoff: fast }, logger);
      const events = makeEvents('reason', batches.reduce((sum, n) => sum + n, 0));
      let next = 0;
      await Promise.all(batches.map((n) => batcher.submit(events.slice(next, (next += n)).map(inbound), context)));
      return reasons;
    } finally {
      unsubscribe();
    }
  }

  it('full by rows, full by bytes, the oldest row waited long enough, or the fetch was all in', async () => {
    expect(await reasonsOf({ ...options, maxRows: 10, flushWhenIdle: false, maxWaitMs: 60_000 }, [10])).toEqual(['rows']);
    expect(await reasonsOf({ ...options, maxBytes: 1, flushWhenIdle: false, maxWaitMs: 60_000 }, [3])).toEqual(['bytes']);
    expect(await reasonsOf({ ...options, flushWhenIdle: false, maxWaitMs: 5 }, [3])).toEqual(['wait']);
    expect(await reasonsOf(options, [3, 4])).toEqual(['idle']);
  });
});
