import type { Queryable } from '../db.js';
import type { TopicDeclaration } from '../kafka/topology.js';

/** The platform's jobs table (applied with applySchema by whoever schedules or dispatches). */
export const schedulerSql = new URL('../sql/scheduler.sql', import.meta.url);

/** The LISTEN/NOTIFY channel on which a new or moved job announces its due time (epoch ms, database clock). */
export const SCHEDULER_CHANNEL = 'scheduled_jobs';

export const jobStates = ['pending', 'dispatched', 'cancelled', 'failed'] as const;
export type JobState = (typeof jobStates)[number];

/** The event a job publishes when it is due (through the dispatcher's outbox). */
export interface ScheduledMessage<T> {
  key: string;
  /** Stored as JSON; the outbox relay encodes it with the topic's schema. */
  value: T;
  /** Must be new for each scheduling of a key: the outbox keeps one row per event id. */
  eventId: string;
  correlationId?: string | undefined;
}

/** When a job is due: a point in time, or a delay from the database's clock (the one dispatch compares with). */
export type DueTime = Date | { afterMs: number };

export interface ScheduleRequest<T> {
  /** Unique per job: the handle to cancel or move it by. */
  key: string;
  /** What the job is, for GET /schedules and metrics. @defaultValue the topic's name */
  type?: string;
  dueAt: DueTime;
  topic: Pick<TopicDeclaration<T>, 'name'>;
  message: ScheduledMessage<T>;
  /**
   * When a job with this key exists: `replace` makes it pending again with this due time and message
   * (whatever its state), `keep` leaves it as it is.
   * @defaultValue 'replace'
   */
  mode?: 'replace' | 'keep';
}

export type ScheduleOutcome = 'scheduled' | 'replaced' | 'kept';
export type CancelOutcome = 'cancelled' | 'already_dispatched' | 'not_found';
export type RescheduleOutcome = 'rescheduled' | 'already_dispatched' | 'cancelled' | 'not_found';

export type { Queryable } from '../db.js';

export interface JobView {
  type: string;
  key: string;
  state: JobState;
  topic: string;
  dueAt: string;
  dispatchedAt: string | null;
  attempts: number;
  lastError: string | null;
}

export interface JobSummary {
  type: string;
  upcoming: number;
  overdue: number;
  oldestDueAt: string;
}

export interface Backlog {
  /** Pending jobs whose due time has passed. */
  due: number;
  /** How long the oldest of them has been due, in seconds (0 when none is). */
  overdueSeconds: number;
}

function dueParameters(dueAt: DueTime): [string | null, number | null] {
  return dueAt instanceof Date ? [dueAt.toISOString(), null] : [null, Math.max(0, dueAt.afterMs)];
}

const dueExpression = (at: string, after: string) => `COALESCE(${at}::timestamptz, now() + make_interval(secs => ${after}::float8 / 1000))`;

/**
 * Scheduling, cancelling and moving jobs. Every call takes a pool or the caller's own transaction;
 * in a transaction the job, and the notification that wakes the dispatchers, exist only once it commits.
 */
export class ScheduledJobs {
  async schedule<T>(db: Queryable, request: ScheduleRequest<T>): Promise<ScheduleOutcome> {
    return (await this.scheduleMany(db, [request]))[0]!;
  }

  /** Several jobs in one statement (one mode for all: the first request's). */
  async scheduleMany<T>(db: Queryable, requests: ReadonlyArray<ScheduleRequest<T>>): Promise<ScheduleOutcome[]> {
    if (requests.length === 0) return [];
    const mode = requests[0]!.mode ?? 'replace';
    const conflict =
      mode === 'keep'
        ? 'DO NOTHING'
        : `DO UPDATE SET job_type = EXCLUDED.job_type, due_at = EXCLUDED.due_at, topic = EXCLUDED.topic,
             message_key = EXCLUDED.message_key, payload = EXCLUDED.payload, event_id = EXCLUDED.event_id,
             correlation_id = EXCLUDED.correlation_id, state = 'pending', attempts = 0, last_error = NULL,
             updated_at = now(), dispatched_at = NULL`;
    const due = requests.map((r) => dueParameters(r.dueAt));
    // One notification per statement, with the earliest due time: a dispatcher sleeping past it wakes.
    const { rows } = await db.query<{ job_key: string; inserted: boolean }>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::text[])
           AS t (job_type, job_key, due_at, after_ms, topic, message_key, payload, event_id, correlation_id)
       ), upserted AS (
         INSERT INTO scheduled_jobs AS j (job_type, job_key, due_at, topic, message_key, payload, event_id, correlation_id)
         SELECT job_type, job_key, ${dueExpression('due_at', 'after_ms')}, topic, message_key, payload, event_id, correlation_id FROM input
         ON CONFLICT (job_key) ${conflict}
         RETURNING j.job_key, j.due_at, (j.xmax = 0) AS inserted
       ), notified AS (
         SELECT pg_notify('${SCHEDULER_CHANNEL}', (EXTRACT(EPOCH FROM min(due_at)) * 1000)::bigint::text) FROM upserted HAVING count(*) > 0
       )
       SELECT job_key, inserted FROM upserted, (SELECT count(*) FROM notified) AS n`,
      [
        requests.map((r) => r.type ?? r.topic.name),
        requests.map((r) => r.key),
        due.map(([at]) => at),
        due.map(([, after]) => after),
        requests.map((r) => r.topic.name),
        requests.map((r) => r.message.key),
        requests.map((r) => JSON.stringify(r.message.value)),
        requests.map((r) => r.message.eventId),
        requests.map((r) => r.message.correlationId ?? null),
      ],
    );
    const byKey = new Map(rows.map((row) => [row.job_key, row.inserted ? 'scheduled' : 'replaced'] as const));
    return requests.map((r) => byKey.get(r.key) ?? 'kept');
  }

  /**
   * Cancels a pending job. A dispatcher claiming it at this instant holds its row: the cancel waits
   * for that claim to commit and answers already_dispatched, so the caller always learns which won.
   */
  async cancel(db: Queryable, key: string): Promise<CancelOutcome> {
    for (;;) {
      const cancelled = await db.query(
        `UPDATE scheduled_jobs SET state = 'cancelled', updated_at = now() WHERE job_key = $1 AND state IN ('pending', 'failed')`,
        [key],
      );
      if (cancelled.rowCount === 1) return 'cancelled';
      const { rows } = await db.query<{ state: JobState }>('SELECT state FROM scheduled_jobs WHERE job_key = $1', [key]);
      const state = rows[0]?.state;
      if (state === undefined) return 'not_found';
      if (state === 'dispatched') return 'already_dispatched';
      if (state === 'cancelled') return 'cancelled';
      // Made pending again (replaced) between the two statements: try again.
    }
  }

  /** Moves a pending job to a new due time. */
  async reschedule(db: Queryable, key: string, dueAt: DueTime): Promise<RescheduleOutcome> {
    const [at, after] = dueParameters(dueAt);
    const moved = await db.query(
      `WITH moved AS (
         UPDATE scheduled_jobs SET due_at = ${dueExpression('$2', '$3')}, updated_at = now()
          WHERE job_key = $1 AND state = 'pending' RETURNING due_at
       )
       SELECT pg_notify('${SCHEDULER_CHANNEL}', (EXTRACT(EPOCH FROM due_at) * 1000)::bigint::text) FROM moved`,
      [key, at, after],
    );
    if (moved.rowCount === 1) return 'rescheduled';
    const { rows } = await db.query<{ state: JobState }>('SELECT state FROM scheduled_jobs WHERE job_key = $1', [key]);
    const state = rows[0]?.state;
    if (state === 'dispatched') return 'already_dispatched';
    if (state === 'cancelled') return 'cancelled';
    return 'not_found';
  }

  /** Jobs oldest due first, optionally of one state and type. */
  async list(db: Queryable, filter: { state?: JobState | undefined; type?: string | undefined; limit: number }): Promise<JobView[]> {
    const { rows } = await db.query<JobView>(
      `SELECT job_type AS type, job_key AS key, state, topic, to_json(due_at) #>> '{}' AS "dueAt",
              to_json(dispatched_at) #>> '{}' AS "dispatchedAt", attempts, last_error AS "lastError"
         FROM scheduled_jobs
        WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR job_type = $2)
        ORDER BY due_at, id LIMIT $3`,
      [filter.state ?? null, filter.type ?? null, filter.limit],
    );
    return rows;
  }

  /** Pending jobs per type: how many are upcoming, how many overdue, and the oldest due time. */
  async summary(db: Queryable): Promise<JobSummary[]> {
    const { rows } = await db.query<JobSummary>(
      `SELECT job_type AS type, count(*) FILTER (WHERE due_at > now())::int AS upcoming,
              count(*) FILTER (WHERE due_at <= now())::int AS overdue, to_json(min(due_at)) #>> '{}' AS "oldestDueAt"
         FROM scheduled_jobs WHERE state = 'pending' GROUP BY job_type ORDER BY job_type`,
    );
    return rows;
  }

  async backlog(db: Queryable): Promise<Backlog> {
    const { rows } = await db.query<{ due: number; overdue: number }>(
      `SELECT count(*)::int AS due, COALESCE(EXTRACT(EPOCH FROM now() - min(due_at)), 0)::float8 AS overdue
         FROM scheduled_jobs WHERE state = 'pending' AND due_at <= now()`,
    );
    return { due: rows[0]?.due ?? 0, overdueSeconds: rows[0]?.overdue ?? 0 };
  }
}
