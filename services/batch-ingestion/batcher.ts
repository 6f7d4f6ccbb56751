import { setTimeout as sleep } from 'node:timers/promises';
import { releaseValue } from '../../shared/consumer/inbound-event.js';
import type { BatchContext, EventFailure, InboundEvent } from '../../shared/consumer/types.js';
import { TransientError, errorMessage, isRetriable } from '../../shared/errors.js';
import { feed, type FlushReason } from '../../shared/instrumentation/events.js';
import type { Logger } from '../../shared/logger.js';
import { retrying } from '../../shared/retry/retrying.js';
import type { AnalyticsEvent } from '../../shared/contracts/schemas.js';
import { RowRejectedError, StoreUnavailableError, type BatchIngestionErrorCode } from './errors.js';
import { writeIsolating } from './isolate.js';
import { encodeBlock, RowSet, RowValueError, toLine, type RowBlock } from './rows.js';
import { mayBeRowsFault, RowsRejectedError, type AnalyticsStore, type WriteResult } from './store.js';

export interface BatcherOptions {
  /** A batch is flushed when it holds this many rows... */
  maxRows: number;
  /** ...or this many COPY bytes... */
  maxBytes: number;
  /** ...or when its oldest row has waited this long, whichever comes first. */
  maxWaitMs: number;
  /**
   * Also flush as soon as the event loop turns with rows pending. kafkajs hands a fetch's batches
   * over together, so this makes one flush per fetch: tens of thousands of rows under load, a few
   * at low volume (without waiting for maxWaitMs), while the next fetch is read meanwhile.
   */
  flushWhenIdle: boolean;
  /** Flushes in flight at once, each on its own connection. */
  maxConcurrentFlushes: number;
  /** Backoff between writes while the store is unavailable: doubles from initialMs up to maxMs (jitter: a fifth). */
  backoff: { initialMs: number; maxMs: number };
  /** Deliveries before the runtime dead-letters a failed event (the group's retry policy); labels metrics. */
  maxAttempts: number;
  /**
   * Failed writes of one range, with an error that may be its rows' fault (mayBeRowsFault), after
   * which the store is probed: when it answers, the rows are isolated as for a data error.
   * @defaultValue 3
   */
  isolateAfterFailures?: number;
}

/** One flush's state across the writes of its ranges. */
interface FlushState {
  /** A range of this flush kept failing while the store answered: its sub-ranges are probed at their first failure. */
  isolating: boolean;
}

type Event = InboundEvent<AnalyticsEvent>;
type Failure = EventFailure<AnalyticsEvent>;

/** One eachBatch call's events, waiting for the flush that carries them. */
interface Entry {
  readonly block: RowBlock;
  /** rowEvents[i] is the event of the block's row i. */
  readonly rowEvents: Event[];
  readonly failures: Failure[];
  readonly context: BatchContext;
  settled: boolean;
  resolve(failures: Failure[]): void;
  reject(error: unknown): void;
}

/** The batch was given up without writing all of it: the consumer is stopping or its group rebalancing. */
export class FlushAbandonedError extends TransientError {
  override readonly code: string = 'FLUSH_ABANDONED' satisfies BatchIngestionErrorCode;
}

/**
 * Collects the events of concurrent eachBatch calls (one per partition) into micro-batches and
 * writes each batch in bulk. Every call resolves only once the transaction holding its rows has
 * committed, so the runtime commits its offsets after the data is durable (with the runtime's
 * commit pipeline, the next fetches are read meanwhile).
 *
 * While the store is unavailable a flush keeps its rows and retries with exponential backoff,
 * heartbeating; the calls wait, fetching stops at the runtime's bound on uncommitted events, and
 * consumption resumes by itself with the first successful write. Rows the store rejects for their values are isolated and
 * returned as failures, so the runtime sends them through the group's retry tiers and DLQ while
 * the rest of the batch is written.
 */
export class MicroBatcher {
  private buffer: Entry[] = [];
  private bufferRows = 0;
  private bufferBytes = 0;
  private waitTimer: NodeJS.Timeout | undefined;
  private waitExpired = false;
  private idleScheduled = false;
  private idleSeen = false;
  private activeFlushes = 0;
  private pausedFlushes = 0;
  private pauseMark = 0;

  constructor(
    private readonly store: Pick<AnalyticsStore, 'write' | 'probe'>,
    private readonly options: BatcherOptions,
    private readonly logger: Logger,
  ) {}

  /** The onBatch handler: resolves with the events that failed once the others are stored. */
  submit(events: readonly Event[], context: BatchContext): Promise<Failure[]> {
    return new Promise<Failure[]>((resolve, reject) => {
      const lines: string[] = [];
      const rowEvents: Event[] = [];
      const failures: Failure[] = [];
      for (const event of events) {
        try {
          lines.push(toLine(event.value));
          rowEvents.push(event);
          releaseValue(event);
        } catch (error) {
          if (!(error instanceof RowValueError)) throw error;
          failures.push({ event, error: new RowRejectedError(error.sqlState, error.message, { cause: error }) });
        }
      }
      const entry: Entry = { block: encodeBlock(lines), rowEvents, failures, context, settled: false, resolve, reject };
      if (rowEvents.length === 0) {
        this.settle(entry, failures);
        return;
      }
      this.buffer.push(entry);
      this.bufferRows += rowEvents.length;
      this.bufferBytes += entry.block.buffer.length;
      if (this.buffer.length === 1) {
        this.waitTimer = setTimeout(() => {
          this.waitExpired = true;
          this.pump();
        }, this.options.maxWaitMs);
      }
      if (this.options.flushWhenIdle && !this.idleScheduled) {
        this.idleScheduled = true;
        setImmediate(() => {
          this.idleScheduled = false;
          this.idleSeen = true;
          this.pump();
        });
      }
      this.pump();
    });
  }

  /** Stops the wait timer; flushes in flight finish on their own. */
  close(): void {
    clearTimeout(this.waitTimer);
  }

  /** Why the buffer is due for a flush now, or undefined while it is not. */
  private due(): FlushReason | undefined {
    if (this.bufferRows >= this.options.maxRows) return 'rows';
    if (this.bufferBytes >= this.options.maxBytes) return 'bytes';
    if (this.waitExpired) return 'wait';
    if (this.idleSeen) return 'idle';
    return undefined;
  }

  private pump(): void {
    for (;;) {
      const reason = this.buffer.length > 0 && this.activeFlushes < this.options.maxConcurrentFlushes ? this.due() : undefined;
      if (!reason) return;
      const entries = this.buffer;
      this.buffer = [];
      this.bufferRows = 0;
      this.bufferBytes = 0;
      clearTimeout(this.waitTimer);
      this.waitExpired = false;
      this.idleSeen = false;
      this.activeFlushes++;
      void this.flush(entries, reason).finally(() => {
        this.activeFlushes--;
        this.pump();
      });
    }
  }

  private async flush(entries: Entry[], reason: FlushReason): Promise<void> {
    const started = performance.now();
    const rows = new RowSet(entries.map((entry) => entry.block));
    const bytes = entries.reduce((sum, entry) => sum + entry.block.buffer.length, 0);
    try {
      const state: FlushState = { isolating: false };
      const result = await writeIsolating(rows.count, (start, end) => this.writeDurably(rows.chunks(start, end), end - start, entries, state));
      const seconds = (performance.now() - started) / 1000;
      const duplicates = rows.count - result.rejected.length - result.inserted;
      feed.batchFlushed.publish({ reason, rows: rows.count, bytes, seconds, inserted: result.inserted, duplicates });
      if (result.rejected.length > 0) {
        this.attribute(entries, result.rejected);
        this.logger.warn(
          { rows: rows.count, rejected: result.rejected.length, writes: result.writes },
          'rows rejected by the store were isolated; the others are written',
        );
      }
      this.logger.debug({ rows: rows.count, inserted: result.inserted, bytes, ms: Math.round(seconds * 1000) }, 'flushed');
      for (const entry of entries) this.settle(entry, entry.failures);
    } catch (error) {
      for (const entry of entries) this.fail(entry, error);
    }
  }

  /** Gives each rejected row (numbered across the flush's entries) to its entry as a failure. */
  private attribute(entries: readonly Entry[], rejected: ReadonlyArray<{ index: number; error: unknown }>): void {
    let e = 0;
    let first = 0;
    for (const { index, error } of rejected) {
      while (index >= first + entries[e]!.rowEvents.length) first += entries[e++]!.rowEvents.length;
      const entry = entries[e]!;
      entry.failures.push({ event: entry.rowEvents[index - first]!, error });
    }
  }

  /**
   * Writes until the store takes the rows, waiting out outages; rejections and abandonment propagate.
   * A failure that may be the rows' fault and persists while the store answers a probe is one: it
   * becomes a rejection, so writeIsolating splits the range until the row stands alone.
   */
  private async writeDurably(chunks: readonly Buffer[], rows: number, entries: readonly Entry[], state: FlushState): Promise<WriteResult> {
    let waiting = false;
    let suspectFailures = 0;
    const isolateAfter = this.options.isolateAfterFailures ?? 3;
    const write = async (): Promise<WriteResult> => {
      try {
        return await this.store.write(chunks, rows);
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || !mayBeRowsFault(error)) throw error;
        suspectFailures++;
        if ((state.isolating || suspectFailures >= isolateAfter) && (await this.store.probe())) {
          state.isolating = true;
          throw new RowsRejectedError(
            error.sqlState!,
            `the store answers, yet keeps failing these rows: ${errorMessage(error)}`,
            undefined,
            { cause: error },
          );
        }
        throw error;
      }
    };
    try {
      const result = await retrying(write, {
        isRetriable: (error) => error instanceof StoreUnavailableError,
        // A fifth off at random, so that instances waiting out the same outage spread their writes.
        backoff: { ...this.options.backoff, jitter: 0.2 },
        onWait: ({ error, delayMs }) => {
          if (waiting) return this.logger.debug({ err: error, delayMs }, 'analytics store still unavailable');
          waiting = true;
          this.beginPause();
          this.logger.warn({ err: error, rows }, 'analytics store unavailable: consumption paused, retrying with backoff');
        },
        wait: (delayMs) => this.waitOut(delayMs, entries),
      });
      if (waiting) this.logger.info({ rows }, 'analytics store is back: consumption resumes');
      return result;
    } finally {
      if (waiting) this.endPause();
    }
  }

  /**
   * Sleeps `delayMs` in slices, heartbeating so the group keeps this member. Gives the batch up when
   * the consumer stops or a heartbeat fails (the group is rebalancing): its offsets stay
   * uncommitted and the events come again.
   */
  private async waitOut(delayMs: number, entries: readonly Entry[]): Promise<void> {
    let remaining = delayMs;
    while (remaining > 0) {
      const slice = Math.min(remaining, 1000);
      await sleep(slice);
      remaining -= slice;
      this.accountPause();
      const live = entries.filter((entry) => !entry.settled);
      if (live.length === 0 || live.some((entry) => !entry.context.isRunning())) {
        throw new FlushAbandonedError('the consumer is stopping: batch given up while the store is unavailable');
      }
      try {
        await Promise.all(live.map((entry) => entry.context.heartbeat()));
      } catch (error) {
        throw new FlushAbandonedError('heartbeat failed while the store is unavailable (group rebalancing): batch given up', {
          cause: error,
        });
      }
    }
  }

  private beginPause(): void {
    if (this.pausedFlushes++ === 0) {
      this.pauseMark = performance.now();
      feed.batchStalled.publish({ stalled: true, seconds: 0 });
    }
  }

  /** Adds the time since the last mark to the paused total, counted once however many flushes wait. */
  private accountPause(): void {
    if (this.pausedFlushes === 0) return;
    const now = performance.now();
    feed.batchStalled.publish({ stalled: true, seconds: (now - this.pauseMark) / 1000 });
    this.pauseMark = now;
  }

  private endPause(): void {
    this.accountPause();
    if (--this.pausedFlushes === 0) feed.batchStalled.publish({ stalled: false, seconds: 0 });
  }

  private settle(entry: Entry, failures: Failure[]): void {
    if (entry.settled) return;
    entry.settled = true;
    for (const failure of failures) {
      const dead = !isRetriable(failure.error) || failure.event.attempt >= this.options.maxAttempts;
      feed.batchRejected.publish({ outcome: dead ? 'dead_lettered' : 'retried' });
    }
    entry.resolve(failures);
  }

  private fail(entry: Entry, error: unknown): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.reject(error);
  }
}
