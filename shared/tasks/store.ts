import { withTransaction, type Pool, type PoolClient, type Queryable } from '../db.js';
import { errorCode, errorMessage } from '../errors.js';
import { LeaseLostError } from './errors.js';
import { progressOf, type Progress } from './progress.js';

/** The platform's tasks table (applied with applySchema by whoever creates or works tasks). */
export const tasksSql = new URL('../sql/tasks.sql', import.meta.url);

/** The LISTEN/NOTIFY channel of every visible change and claim: "<id> <version> <state> <fence> <queue>". */
export const TASK_CHANGES_CHANNEL = 'task_changes';

export const taskStates = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type TaskState = (typeof taskStates)[number];
export const finishedStates: readonly TaskState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export interface Task<P = unknown, C = unknown> {
  id: string;
  queue: string;
  params: P;
  state: TaskState;
  fence: number;
  leaseOwner: string | null;
  attempts: number;
  checkpoint: C | null;
  done: number;
  total: number | null;
  chunks: number;
  rowsPerSecond: number | null;
  error: string | null;
  errorCode: string | null;
  version: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A task as its readers see it (GET, SSE): the same for every reader at one version. */
export interface TaskView {
  id: string;
  state: TaskState;
  version: number;
  progress: Progress;
  attempts: number;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export function viewOf(task: Task): TaskView {
  return {
    id: task.id,
    state: task.state,
    version: task.version,
    progress: progressOf(task.done, task.total, task.rowsPerSecond, finishedStates.includes(task.state)),
    attempts: task.attempts,
    error: task.error === null ? null : { code: task.errorCode ?? 'UNCLASSIFIED', message: task.error },
    createdAt: task.createdAt.toISOString(),
    startedAt: task.startedAt?.toISOString() ?? null,
    finishedAt: task.finishedAt?.toISOString() ?? null,
  };
}

interface TaskRow {
  id: string;
  queue: string;
  params: unknown;
  state: TaskState;
  fence: string;
  lease_owner: string | null;
  attempts: number;
  checkpoint: unknown;
  done: string;
  total: string | null;
  chunks: number;
  rows_per_second: number | null;
  error: string | null;
  error_code: string | null;
  version: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function taskOf<P, C>(row: TaskRow): Task<P, C> {
  return {
    id: row.id,
    queue: row.queue,
    params: row.params as P,
    state: row.state,
    fence: Number(row.fence),
    leaseOwner: row.lease_owner,
    attempts: row.attempts,
    checkpoint: row.checkpoint as C | null,
    done: Number(row.done),
    total: row.total === null ? null : Number(row.total),
    chunks: row.chunks,
    rowsPerSecond: row.rows_per_second,
    error: row.error,
    errorCode: row.error_code,
    version: Number(row.version),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** A worker's hold on a task: the fence its claim returned. */
export interface Lease {
  taskId: string;
  fence: number;
}

export type CancelOutcome = { kind: 'cancelled'; task: Task } | { kind: 'finished'; state: TaskState } | { kind: 'not-found' };
export type RetryOutcome = { kind: 'queued' } | { kind: 'not-failed'; state: TaskState } | { kind: 'not-found' };

/** Runs inside the transaction that ends a task (SUCCEEDED, FAILED or CANCELLED), e.g. to append its completion event to an outbox. */
export type OnSettled = (tx: PoolClient, task: Task) => Promise<void>;

/** What a chunk did, inside the fenced transaction that stores it. */
export interface ChunkResult<C = unknown> {
  rows: number;
  /** Where the next chunk starts. */
  checkpoint: C;
  /** The last chunk: the task SUCCEEDED in the same transaction. */
  last: boolean;
}

/** A chunk's work: reads and writes its output in `tx`; `seq` counts the task's chunks from 1, unique per task. */
export type ChunkWork<C> = (tx: PoolClient, seq: number) => Promise<ChunkResult<C>>;

const returning = `id, queue, params, state, fence, lease_owner, attempts, checkpoint, done, total, chunks, rows_per_second,
  error, error_code, version, created_at, started_at, finished_at`;

/**
 * The tasks table's operations. A task is worked by whoever claims it: a claim raises the fencing
 * counter and takes a lease; every later write of that worker (heartbeat, chunk, settle, release)
 * names its fence and changes nothing once the counter has moved on.
 */
export class TaskStore {
  constructor(private readonly pool: Pool) {}

  async create<P>(db: Queryable, task: { id: string; queue: string; params: P }): Promise<Task<P>> {
    const { rows } = await db.query<TaskRow>(
      `INSERT INTO tasks (id, queue, params, state) VALUES ($1, $2, $3, 'QUEUED') RETURNING ${returning}`,
      [task.id, task.queue, JSON.stringify(task.params)],
    );
    return taskOf<P, never>(rows[0]!);
  }

  async find<P = unknown, C = unknown>(db: Queryable, id: string): Promise<Task<P, C> | undefined> {
    const { rows } = await db.query<TaskRow>(`SELECT ${returning} FROM tasks WHERE id = $1`, [id]);
    return rows[0] && taskOf<P, C>(rows[0]);
  }

  /**
   * Claims the oldest claimable task of `queue`: queued and past its back-off, or running under a
   * lease that has run out (its worker died or froze). Raises the fence and records the claim.
   */
  async claim<P, C>(queue: string, owner: string, leaseMs: number): Promise<Task<P, C> | undefined> {
    const { rows } = await this.pool.query<TaskRow>(
      `WITH next AS (
         SELECT id FROM tasks
          WHERE queue = $1 AND ((state = 'QUEUED' AND run_after <= now()) OR (state = 'RUNNING' AND lease_until < now()))
          ORDER BY run_after, created_at LIMIT 1 FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE tasks t SET state = 'RUNNING', fence = t.fence + 1, lease_owner = $2,
                lease_until = now() + make_interval(secs => $3::float8 / 1000), started_at = COALESCE(t.started_at, now())
           FROM next WHERE t.id = next.id
         RETURNING t.*
       ), logged AS (
         INSERT INTO task_claims (task_id, fence, owner, resumed_from) SELECT id, fence, $2, done FROM claimed
       )
       SELECT ${returning} FROM claimed`,
      [queue, owner, leaseMs],
    );
    return rows[0] && taskOf<P, C>(rows[0]);
  }

  /** Renews the lease; false once it is no longer held. */
  async heartbeat(lease: Lease, leaseMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE tasks SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
        WHERE id = $1 AND fence = $2 AND state = 'RUNNING'`,
      [lease.taskId, lease.fence, leaseMs],
    );
    return rowCount === 1;
  }

  /** Sets the total found by the first claim (fenced; throws LeaseLostError once the task ended or moved on). */
  async setTotal(lease: Lease, total: number): Promise<void> {
    const { rowCount } = await this.pool.query(`UPDATE tasks SET total = $3 WHERE id = $1 AND fence = $2 AND state = 'RUNNING'`, [
      lease.taskId,
      lease.fence,
      total,
    ]);
    if (rowCount !== 1) throw new LeaseLostError(lease.taskId, lease.fence);
  }

  /**
   * Works a chunk and stores its checkpoint in one transaction, only while `lease` still holds (the
   * task row is locked first and its fence compared); the last chunk also ends the task SUCCEEDED.
   * Throws LeaseLostError, having written nothing, when the lease is gone.
   */
  async commitChunk<C>(
    lease: Lease,
    work: ChunkWork<C>,
    leaseMs: number,
    onSettled: OnSettled | undefined,
    /** The rate to show after a chunk of `rows`. */
    rateOf: (rows: number) => number | null,
  ): Promise<ChunkResult<C>> {
    return this.fenced(lease, leaseMs, async (tx, seq) => {
      const chunk = await work(tx, seq);
      // A chunk's output and checkpoint commit together, so a database crash that loses the latest
      // commits loses both and the task resumes from an earlier checkpoint: waiting for each chunk's
      // WAL flush buys nothing. The last chunk waits: a task seen SUCCEEDED (and its completion
      // event) must not come undone.
      if (!chunk.last) await tx.query('SET LOCAL synchronous_commit = off');
      const { rows } = await tx.query<TaskRow>(
        `UPDATE tasks SET checkpoint = $3, done = done + $4, chunks = chunks + 1, rows_per_second = $5,
                state = CASE WHEN $7 THEN 'SUCCEEDED' ELSE state END,
                total = CASE WHEN $7 THEN done + $4 ELSE total END,
                finished_at = CASE WHEN $7 THEN now() END,
                lease_owner = CASE WHEN $7 THEN NULL ELSE lease_owner END,
                lease_until = CASE WHEN $7 THEN NULL ELSE now() + make_interval(secs => $6::float8 / 1000) END,
                error = NULL, error_code = NULL
          WHERE id = $1 AND fence = $2 RETURNING ${returning}`,
        [lease.taskId, lease.fence, JSON.stringify(chunk.checkpoint), chunk.rows, rateOf(chunk.rows), leaseMs, chunk.last],
      );
      if (chunk.last && onSettled) await onSettled(tx, taskOf(rows[0]!));
      return chunk;
    });
  }

  /**
   * Records a failed attempt: back to QUEUED after `retryInMs`, or FAILED once `maxAttempts` failed.
   * Checkpoint and progress stay. Answers the new state, or undefined when the lease was gone.
   */
  async fail(lease: Lease, error: unknown, maxAttempts: number, retryInMs: number, onSettled: OnSettled | undefined): Promise<TaskState | undefined> {
    return this.settleOrRequeue(onSettled, (tx) =>
      tx.query<TaskRow>(
        `UPDATE tasks SET attempts = attempts + 1, error = $3, error_code = $4, lease_owner = NULL, lease_until = NULL,
                state = CASE WHEN attempts + 1 >= $5 THEN 'FAILED' ELSE 'QUEUED' END,
                finished_at = CASE WHEN attempts + 1 >= $5 THEN now() END,
                run_after = now() + make_interval(secs => $6::float8 / 1000)
          WHERE id = $1 AND fence = $2 AND state = 'RUNNING' RETURNING ${returning}`,
        [lease.taskId, lease.fence, errorMessage(error), errorCode(error), maxAttempts, retryInMs],
      ),
    );
  }

  /** Gives the task back at once (a worker shutting down): the next claim resumes from its checkpoint. */
  async release(lease: Lease): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE tasks SET state = 'QUEUED', lease_owner = NULL, lease_until = NULL, run_after = now()
        WHERE id = $1 AND fence = $2 AND state = 'RUNNING'`,
      [lease.taskId, lease.fence],
    );
    return rowCount === 1;
  }

  /**
   * Cancels a task that has not finished, in the caller's transaction: CANCELLED at once, and the
   * fence raised, so its worker (wherever it runs) can write nothing more and stops.
   */
  async cancel(tx: PoolClient, id: string, onSettled: OnSettled | undefined): Promise<CancelOutcome> {
    const { rows } = await tx.query<TaskRow>(
      `UPDATE tasks SET state = 'CANCELLED', fence = fence + 1, lease_owner = NULL, lease_until = NULL, finished_at = now()
        WHERE id = $1 AND state IN ('QUEUED', 'RUNNING', 'FAILED') RETURNING ${returning}`,
      [id],
    );
    if (rows[0]) {
      const task = taskOf(rows[0]);
      await onSettled?.(tx, task);
      return { kind: 'cancelled', task };
    }
    const found = await this.find(tx, id);
    return found ? { kind: 'finished', state: found.state } : { kind: 'not-found' };
  }

  /** Queues a FAILED task again with a fresh count of attempts; it resumes from its checkpoint. */
  async retry(db: Queryable, id: string): Promise<RetryOutcome> {
    const { rowCount } = await db.query(
      `UPDATE tasks SET state = 'QUEUED', attempts = 0, run_after = now(), finished_at = NULL WHERE id = $1 AND state = 'FAILED'`,
      [id],
    );
    if (rowCount === 1) return { kind: 'queued' };
    const found = await this.find(db, id);
    return found ? { kind: 'not-failed', state: found.state } : { kind: 'not-found' };
  }

  /** Tasks of a queue per state (for metrics). */
  async countByState(queue: string): Promise<Record<TaskState, number>> {
    const { rows } = await this.pool.query<{ state: TaskState; count: number }>(
      'SELECT state, count(*)::int AS count FROM tasks WHERE queue = $1 GROUP BY state',
      [queue],
    );
    const counts = Object.fromEntries(taskStates.map((state) => [state, 0])) as Record<TaskState, number>;
    for (const row of rows) counts[row.state] = row.count;
    return counts;
  }

  /**
   * A transaction that first locks the task row and checks the lease's fence. A frozen worker must
   * not hold that lock past its lease: the server ends its session if it idles inside the transaction.
   */
  private fenced<T>(lease: Lease, leaseMs: number, work: (tx: PoolClient, seq: number) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (tx) => {
      await tx.query(`SELECT set_config('idle_in_transaction_session_timeout', $1, true), set_config('lock_timeout', $1, true)`, [
        String(Math.max(1000, leaseMs)),
      ]);
      const { rows } = await tx.query<{ chunks: number }>(
        `SELECT chunks FROM tasks WHERE id = $1 AND fence = $2 AND state = 'RUNNING' FOR UPDATE`,
        [lease.taskId, lease.fence],
      );
      if (!rows[0]) throw new LeaseLostError(lease.taskId, lease.fence);
      return work(tx, rows[0].chunks + 1);
    });
  }

  private settleOrRequeue(
    onSettled: OnSettled | undefined,
    update: (tx: PoolClient) => Promise<{ rows: TaskRow[] }>,
  ): Promise<TaskState | undefined> {
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await update(tx);
      const task = rows[0] && taskOf(rows[0]);
      if (task && finishedStates.includes(task.state)) await onSettled?.(tx, task);
      return task?.state;
    });
  }
}
