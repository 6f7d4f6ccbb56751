import { setTimeout as sleep } from 'node:timers/promises';
import type { PoolClient } from '../db.js';
import { isRetriable } from '../errors.js';
import type { Logger } from '../logger.js';
import { Backoff, backoffDelay, type BackoffOptions } from '../retry/backoff.js';
import { LeaseLostError } from './errors.js';
import { smoothedRate } from './progress.js';
import type { TaskChanges } from './task-changes.js';
import type { ChunkResult, Lease, OnSettled, Task, TaskStore } from './store.js';

/** Where a chunk's output goes: the task, the chunk's number (from 1) and the fence it is written under. */
export interface ChunkTarget {
  taskId: string;
  seq: number;
  fence: number;
}

/** A chunk read ahead of its transaction: what it holds, and how its output is written. */
export interface PreparedChunk<C> extends ChunkResult<C> {
  /** Writes the chunk's output in the fenced transaction that then stores its checkpoint. */
  write: (tx: PoolClient, target: ChunkTarget) => Promise<void>;
}

/** What a kind of task does; it knows nothing of leases, retries or progress. */
export interface TaskHandler<P, C> {
  /** How many rows the task has in all (for progress); asked once, by the first claim, while its chunks go on. */
  total: (params: P) => Promise<number>;
  /**
   * The chunks after `checkpoint` (null: from the start), at most `limit` rows each, in order; the
   * last says so. A claim reads them once, as one stream: the next chunk is asked for while the
   * last one commits. Each is written in the fenced transaction that then stores the checkpoint it
   * answers, so its output exists if and only if the checkpoint moves past it. `signal` aborts when
   * the claim ends (lost, stopped, failed).
   */
  chunks: (params: P, checkpoint: C | null, limit: number, signal: AbortSignal) => AsyncIterable<PreparedChunk<C>>;
}

export interface TaskWorkerPoolOptions<P, C> {
  store: TaskStore;
  changes: TaskChanges;
  /** The tasks this pool works (tasks.queue). */
  queue: string;
  handler: TaskHandler<P, C>;
  /** Who holds a lease (tasks.lease_owner): the instance, for logs and operators. */
  owner: string;
  logger: Logger;
  /**
   * How long a claim holds without a heartbeat: a crashed worker's task is taken over after this.
   * @defaultValue 30000
   */
  leaseMs?: number;
  /** @defaultValue 5000 */
  heartbeatMs?: number;
  /** @defaultValue 10000 */
  chunkRows?: number;
  /**
   * Tasks this process works at once.
   * @defaultValue 1
   */
  concurrency?: number;
  /**
   * The safety-net look for claimable tasks (expired leases, missed notifications).
   * @defaultValue 1000
   */
  pollMs?: number;
  /**
   * Failed attempts before a task is FAILED (a permanent error fails it at once).
   * @defaultValue 5
   */
  maxAttempts?: number;
  /** @defaultValue 1 s doubling up to 60 s */
  retryBackoff?: BackoffOptions;
  /** Inside the transaction that ends a task. */
  onSettled?: OnSettled;
  onChunk?: (seconds: number, rows: number) => void;
  /** A claim that starts from a checkpoint. */
  onResume?: (task: Task) => void;
  /** A write refused because the lease was gone. */
  onFencingRefusal?: () => void;
}

type Interrupted = 'lost' | 'stopping';

/**
 * Workers that claim tasks from the tasks table (never from Kafka: a long task inside a consumer's
 * handler would cost the group its member), renew their lease by heartbeat and commit each chunk
 * with its checkpoint under the claim's fence. A task whose lease is lost (taken over, cancelled)
 * is dropped at once; a failed chunk puts the task back with back-off, to resume from its
 * checkpoint; stop() releases held tasks at once for another worker to resume.
 */
export class TaskWorkerPool<P, C> {
  private readonly logger: Logger;
  private readonly stopController = new AbortController();
  private readonly waiting = new Set<() => void>();
  private slots: Array<Promise<void>> = [];
  private unsubscribe: (() => void) | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: TaskWorkerPoolOptions<P, C>) {
    this.logger = options.logger.child({ component: 'task-workers', queue: options.queue });
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 30_000;
  }

  start(): void {
    if (this.slots.length > 0) return;
    // A task queued (new, released, backed off) wakes the idle workers; so does a reconnection.
    this.unsubscribe = this.options.changes.onAny((change) => {
      if (change && (change.queue !== this.options.queue || change.state !== 'QUEUED')) return;
      for (const wake of this.waiting) wake();
    });
    this.slots = Array.from({ length: this.options.concurrency ?? 1 }, () => this.slot());
  }

  /** Stops claiming; a task in progress keeps its committed chunks and is released at once. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopController.abort();
      for (const wake of this.waiting) wake();
      await Promise.all(this.slots);
      this.unsubscribe?.();
    })();
    return this.stopped;
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async slot(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    while (!this.stopping) {
      let task: Task<P, C> | undefined;
      try {
        task = await this.options.store.claim<P, C>(this.options.queue, this.options.owner, this.leaseMs);
        backoff.reset();
      } catch (error) {
        const retryInMs = backoff.next();
        this.logger.warn({ err: error, retryInMs }, 'claiming a task failed; retrying');
        await this.idle(retryInMs);
        continue;
      }
      if (task) await this.work(task);
      else await this.idle(this.options.pollMs ?? 1000);
    }
  }

  private async idle(ms: number): Promise<void> {
    if (this.stopping) return;
    const controller = new AbortController();
    let wake: () => void = () => undefined;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.waiting.add(wake);
    try {
      await Promise.race([woken, sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined)]);
    } finally {
      controller.abort();
      this.waiting.delete(wake);
    }
  }

  private async work(task: Task<P, C>): Promise<void> {
    const { store, handler, changes } = this.options;
    const lease: Lease = { taskId: task.id, fence: task.fence };
    const logger = this.logger.child({ taskId: task.id, fence: task.fence });
    const leaseMs = this.leaseMs;
    if (task.checkpoint !== null) this.options.onResume?.(task);
    logger.info({ resumedFrom: task.done, chunks: task.chunks, attempts: task.attempts }, task.checkpoint === null ? 'task claimed' : 'task resumed from its checkpoint');

    // Lost: another claim or a cancel raised the fence, or heartbeats failed for a whole lease.
    const lost = new AbortController();
    const unfollow = changes.onTask(task.id, (change) => {
      if (change && change.fence !== lease.fence) lost.abort();
    });
    // Ends the handler's reading when the claim ends, however it ends.
    const reading = new AbortController();
    let chunks: AsyncIterator<PreparedChunk<C>> | undefined;
    let renewedAt = Date.now();
    const heartbeat = setInterval(() => {
      store.heartbeat(lease, leaseMs).then(
        (held) => {
          if (held) renewedAt = Date.now();
          else lost.abort();
        },
        (error: unknown) => {
          logger.warn({ err: error }, 'heartbeat failed');
          if (Date.now() - renewedAt >= leaseMs) lost.abort();
        },
      );
    }, this.options.heartbeatMs ?? 5000);

    try {
      // Counted beside the first chunks rather than before them: progress has no total for a moment,
      // the export loses no time. A count that comes after the end (or a lost lease) changes nothing.
      if (task.total === null) {
        handler
          .total(task.params)
          .then((total) => store.setTotal(lease, total))
          .catch((error: unknown) => {
            if (!(error instanceof LeaseLostError)) logger.warn({ err: error }, 'counting the task\'s rows failed; progress shows no total');
          });
      }
      const limit = this.options.chunkRows ?? 10_000;
      let rate = task.rowsPerSecond;
      chunks = handler.chunks(task.params, task.checkpoint, limit, reading.signal)[Symbol.asyncIterator]();
      // One chunk ahead: the next is read while this one commits.
      const ahead = (from: AsyncIterator<PreparedChunk<C>>) => {
        const next = from.next();
        next.catch(() => undefined);
        return next;
      };
      let next = ahead(chunks);
      let started = performance.now();
      for (;;) {
        const read = await this.interruptible(next, lost.signal);
        if (read === 'lost' || read === 'stopping') return await this.leave(lease, read, logger);
        if (read.done) throw new Error('the task\'s chunks ended without a last chunk');
        const chunk = read.value;
        if (!chunk.last) next = ahead(chunks);
        const work = store.commitChunk<C>(
          lease,
          async (tx, seq) => {
            await chunk.write(tx, { taskId: task.id, seq, fence: lease.fence });
            return { rows: chunk.rows, checkpoint: chunk.checkpoint, last: chunk.last };
          },
          leaseMs,
          this.options.onSettled,
          (rows) => (rate = smoothedRate(rate, rows, (performance.now() - started) / 1000)),
        );
        // Stopping does not wait for the chunk in flight (its transaction rolls back as the process
        // ends, or commits first: either way the checkpoint and the output agree).
        const committed = await this.interruptible(work, lost.signal);
        if (committed === 'lost' || committed === 'stopping') return await this.leave(lease, committed, logger);
        this.options.onChunk?.((performance.now() - started) / 1000, committed.rows);
        started = performance.now();
        if (committed.last) {
          logger.info('task succeeded');
          return;
        }
        if (this.stopping || lost.signal.aborted) return await this.leave(lease, this.stopping ? 'stopping' : 'lost', logger);
      }
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.options.onFencingRefusal?.();
        logger.warn('write refused: the lease is no longer held (taken over or cancelled); task dropped');
        return;
      }
      await this.failed(task, lease, error, logger);
    } finally {
      reading.abort();
      // A reader paused at a chunk read ahead ends only when asked to (and gives its connection back then).
      void chunks?.return?.()?.catch(() => undefined);
      clearInterval(heartbeat);
      unfollow();
    }
  }

  /** The work's result, or why it was given up: a lost lease, or stop() (which does not wait for a chunk's read). */
  private async interruptible<T>(work: Promise<T>, lost: AbortSignal): Promise<T | Interrupted> {
    work.catch(() => undefined);
    const stop = this.stopController.signal;
    let settle: () => void = () => undefined;
    const interrupted = new Promise<Interrupted>((resolve) => {
      settle = () => resolve(this.stopping ? 'stopping' : 'lost');
      if (lost.aborted || stop.aborted) settle();
      lost.addEventListener('abort', settle, { once: true });
      stop.addEventListener('abort', settle, { once: true });
    });
    try {
      return await Promise.race([work, interrupted]);
    } finally {
      lost.removeEventListener('abort', settle);
      stop.removeEventListener('abort', settle);
    }
  }

  private async leave(lease: Lease, why: Interrupted, logger: Logger): Promise<void> {
    if (why === 'lost') {
      logger.warn('lease lost (taken over or cancelled); task dropped');
      return;
    }
    const released = await this.options.store.release(lease).catch((error: unknown) => {
      logger.warn({ err: error }, 'releasing the task failed; another worker takes it over when its lease runs out');
      return false;
    });
    if (released) logger.info('stopping: task released at its checkpoint');
  }

  private async failed(task: Task<P, C>, lease: Lease, error: unknown, logger: Logger): Promise<void> {
    const maxAttempts = isRetriable(error) ? (this.options.maxAttempts ?? 5) : 0;
    const retryInMs = backoffDelay(this.options.retryBackoff ?? { initialMs: 1000, maxMs: 60_000 }, task.attempts + 1);
    try {
      const state = await this.options.store.fail(lease, error, maxAttempts, retryInMs, this.options.onSettled);
      if (state === undefined) {
        // A worker frozen inside its chunk's transaction finds it ended by the server and the task moved on.
        this.options.onFencingRefusal?.();
        logger.warn({ err: error }, 'task attempt failed and its lease lost (taken over or cancelled): nothing recorded, task dropped');
      } else if (state === 'FAILED') logger.error({ err: error, attempts: task.attempts + 1 }, 'task failed; its checkpoint is kept for a retry');
      else if (state === 'QUEUED') logger.warn({ err: error, attempts: task.attempts + 1, retryInMs }, 'task attempt failed; retrying from its checkpoint');
    } catch (recordError) {
      logger.error({ err: error, recordError }, 'task attempt failed and could not be recorded; its lease runs out instead');
    }
  }
}
