import { setTimeout as sleep } from 'node:timers/promises';
import { afterCommit, withTransaction, type Pool, type PoolClient } from '../db.js';
import { errorMessage } from '../errors.js';
import type { TopicLookup } from '../kafka/topology.js';
import type { Logger } from '../logger.js';
import type { Outbox, OutboxMessage } from '../outbox/outbox.js';
import { NotifyListener } from '../notify-listener.js';
import { Backoff } from '../retry/backoff.js';
import { SCHEDULER_CHANNEL } from './jobs.js';

export interface DispatcherOptions {
  pool: Pool;
  /** LISTEN needs a connection of its own, outside the pool. */
  databaseUrl: string;
  /** Where a due job's event goes, in the transaction that marks it dispatched; its relay publishes it. */
  outbox: Outbox;
  /** The declared topics: a job for a topic nobody declared fails instead of blocking the rest. */
  topics: TopicLookup;
  logger: Logger;
  /**
   * Jobs claimed per round (one transaction).
   * @defaultValue 500
   */
  batchSize?: number;
  /**
   * Longest sleep with nothing due: the safety net behind LISTEN/NOTIFY (a lost listen connection,
   * jobs a dispatcher that died had claimed).
   * @defaultValue 1000
   */
  maxSleepMs?: number;
  /**
   * Dispatches per second at most, per dispatcher: after an outage the overdue jobs go oldest
   * first at this rate instead of all at once.
   * @defaultValue 5000
   */
  maxPerSecond?: number;
  /**
   * Attempts of a job whose event cannot be written before it is set aside as failed.
   * @defaultValue 3
   */
  maxAttempts?: number;
  /** Called after each committed round with every dispatched job's lateness (seconds after its due time). */
  onDispatched?: (latenessSeconds: readonly number[]) => void;
}

interface ClaimedJob {
  id: string;
  job_key: string;
  job_type: string;
  topic: string;
  message_key: string;
  payload: unknown;
  event_id: string;
  correlation_id: string | null;
  due: number;
  lateness: number;
}

/** How often to look again when due jobs exist but another dispatcher holds them. */
const heldElsewhereMs = 50;

/**
 * Dispatches due jobs: claims them oldest due first with FOR UPDATE SKIP LOCKED (so any number of
 * dispatchers share the table), writes each job's event to the outbox and marks the job dispatched
 * in that same transaction: a job is handed over exactly once, and a dispatcher that dies mid-round
 * leaves its claims to roll back for the next. Due means `due_at <= now()` by the database's clock,
 * never this process's. Between rounds it sleeps until the next due time (at most maxSleepMs);
 * a job scheduled earlier than that wakes it through LISTEN/NOTIFY.
 */
export class Dispatcher {
  private readonly logger: Logger;
  private readonly listener: NotifyListener;
  private stopped = false;
  private loop: Promise<void> | undefined;
  /** The planned wake-up (epoch ms, database clock) while sleeping; a notification before it wakes. */
  private sleepingUntil: number | undefined;
  private wakeUp: (() => void) | undefined;
  /** A notification arrived while not asleep: look again before sleeping. */
  private notified = false;

  constructor(private readonly options: DispatcherOptions) {
    this.logger = options.logger.child({ component: 'scheduler-dispatcher' });
    // Each notification carries the due time (epoch ms, database clock) of a new or moved job.
    this.listener = new NotifyListener(options.databaseUrl, [SCHEDULER_CHANNEL], this.logger, (payload) => {
      const dueMs = Number(payload);
      this.onNotified(payload !== undefined && Number.isFinite(dueMs) ? dueMs : undefined);
    });
  }

  start(): void {
    this.listener.start();
    this.loop ??= this.run();
  }

  /** Finishes the round in progress; claims never outlive it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    await this.listener.stop();
  }

  private get batchSize(): number {
    return this.options.batchSize ?? 500;
  }

  private onNotified(dueMs: number | undefined): void {
    // A reconnected listener may have missed notifications: it reports undefined, which always wakes.
    if (this.sleepingUntil === undefined) {
      this.notified = true;
      return;
    }
    if (dueMs === undefined || dueMs < this.sleepingUntil) this.wakeUp?.();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    const maxPerSecond = this.options.maxPerSecond ?? 5000;
    while (!this.stopped) {
      try {
        this.notified = false;
        const started = performance.now();
        const count = await this.round();
        backoff.reset();
        if (count > 0) {
          // The rate bound: a full round earns its share of a second before the next.
          const owedMs = (count * 1000) / maxPerSecond - (performance.now() - started);
          if (owedMs > 1) await sleep(owedMs);
          if (count === this.batchSize) continue;
        }
        await this.idle(count);
      } catch (error) {
        const retryInMs = backoff.next();
        this.logger.warn({ err: error, retryInMs }, 'dispatch round failed; jobs stay pending and will be retried');
        await this.pause(retryInMs, undefined);
      }
    }
  }

  /** Claims, hands over and marks one batch; returns the jobs it claimed. */
  private async round(): Promise<number> {
    try {
      return await withTransaction(this.options.pool, (tx) => this.dispatch(tx, this.batchSize));
    } catch (error) {
      // One job that cannot be written (e.g. its event id already in the outbox) must not hold up the
      // rest: retry the round job by job, so the culprit alone is counted and eventually set aside.
      this.logger.warn({ err: error }, 'dispatch round failed; dispatching job by job');
      return this.oneByOne();
    }
  }

  private async dispatch(tx: PoolClient, limit: number, onlyId?: string): Promise<number> {
    const { rows } = await tx.query<ClaimedJob>(
      `WITH due AS (
         SELECT id FROM scheduled_jobs
          WHERE state = 'pending' AND due_at <= now() AND ($2::bigint IS NULL OR id = $2)
          ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       UPDATE scheduled_jobs j SET state = 'dispatched', dispatched_at = clock_timestamp(), updated_at = clock_timestamp(),
              attempts = j.attempts + 1
         FROM due WHERE j.id = due.id
       RETURNING j.id, j.job_key, j.job_type, j.topic, j.message_key, j.payload, j.event_id, j.correlation_id,
                 EXTRACT(EPOCH FROM j.due_at)::float8 AS due, EXTRACT(EPOCH FROM clock_timestamp() - j.due_at)::float8 AS lateness`,
      [limit, onlyId ?? null],
    );
    if (rows.length === 0) return 0;
    // Oldest due first into the outbox too, whose relay publishes in row order.
    rows.sort((a, b) => a.due - b.due || Number(a.id) - Number(b.id));
    const messages: Array<OutboxMessage<unknown>> = [];
    const undeclared: ClaimedJob[] = [];
    for (const job of rows) {
      const topic = this.options.topics(job.topic);
      if (!topic) {
        undeclared.push(job);
        continue;
      }
      messages.push({ topic, key: job.message_key, value: job.payload, eventId: job.event_id, correlationId: job.correlation_id ?? undefined });
    }
    await this.options.outbox.append(tx, messages);
    if (undeclared.length > 0) {
      await tx.query(
        `UPDATE scheduled_jobs SET state = 'failed', dispatched_at = NULL, last_error = 'topic is not declared' WHERE id = ANY($1::bigint[])`,
        [undeclared.map((job) => job.id)],
      );
      for (const job of undeclared) this.logger.error({ jobKey: job.job_key, topic: job.topic }, 'scheduled job names an undeclared topic; set aside as failed');
    }
    const report = this.options.onDispatched;
    const lateness = rows.filter((job) => !undeclared.includes(job)).map((job) => job.lateness);
    // Reported once committed: a rolled-back round dispatched nothing.
    if (report && lateness.length > 0) afterCommit(tx, () => report(lateness));
    return rows.length;
  }

  private async oneByOne(): Promise<number> {
    const { rows } = await this.options.pool.query<{ id: string }>(
      `SELECT id FROM scheduled_jobs WHERE state = 'pending' AND due_at <= now() ORDER BY due_at, id LIMIT $1`,
      [this.batchSize],
    );
    let count = 0;
    for (const { id } of rows) {
      try {
        count += await withTransaction(this.options.pool, (tx) => this.dispatch(tx, 1, id));
      } catch (error) {
        await this.recordFailure(id, error);
      }
    }
    return count;
  }

  private async recordFailure(id: string, error: unknown): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 3;
    const { rows } = await this.options.pool.query<{ job_key: string; state: string; attempts: number }>(
      `UPDATE scheduled_jobs SET attempts = attempts + 1, last_error = $2, updated_at = now(),
              state = CASE WHEN attempts + 1 >= $3 THEN 'failed' ELSE state END
        WHERE id = $1 AND state = 'pending' RETURNING job_key, state, attempts`,
      [id, errorMessage(error), maxAttempts],
    );
    const job = rows[0];
    if (job) this.logger.error({ err: error, jobKey: job.job_key, attempts: job.attempts, state: job.state }, 'scheduled job could not be dispatched');
  }

  /** Sleeps until the next due time (capped), a notification of an earlier one, or stop. */
  private async idle(lastRound: number): Promise<void> {
    const maxSleepMs = this.options.maxSleepMs ?? 1000;
    const { rows } = await this.options.pool.query<{ now_ms: number; due_ms: number | null }>(
      `SELECT EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS now_ms, EXTRACT(EPOCH FROM min(due_at)) * 1000 AS due_ms
         FROM scheduled_jobs WHERE state = 'pending'`,
    );
    const nowMs = Number(rows[0]!.now_ms);
    const dueMs = rows[0]!.due_ms === null ? undefined : Number(rows[0]!.due_ms);
    let waitMs = dueMs === undefined ? maxSleepMs : Math.min(maxSleepMs, Math.ceil(dueMs - nowMs));
    // Due, yet this round found nothing: another dispatcher holds those rows (or one that died, until
    // its connection closes). Look again soon rather than spin.
    if (waitMs <= 0) waitMs = lastRound === 0 ? heldElsewhereMs : 0;
    if (waitMs <= 0 || this.notified) return;
    await this.pause(waitMs, nowMs + waitMs);
  }

  private async pause(ms: number, until: number | undefined): Promise<void> {
    if (this.stopped) return;
    const controller = new AbortController();
    const woken = new Promise<void>((resolve) => (this.wakeUp = resolve));
    // Without a planned wake-up (a back-off), notifications do not cut the pause short.
    this.sleepingUntil = until ?? Number.NEGATIVE_INFINITY;
    try {
      await Promise.race([woken, sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined)]);
    } finally {
      controller.abort();
      this.wakeUp = undefined;
      this.sleepingUntil = undefined;
    }
  }
}
