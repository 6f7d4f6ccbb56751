import type { Pool } from '../db.js';
import type { DlqTarget } from './targets.js';

/**
 * The audit log of DLQ operations (tables dlq_operations, dlq_replayed_messages): who replayed or
 * purged what, when, and where it went. Apply it (applySchema) to the pool a DlqContext hands out.
 */
export const dlqOperationsSql = new URL('../sql/dlq-operations.sql', import.meta.url);

export interface OperationStart {
  operation: 'replay' | 'purge';
  actor: string;
  target: DlqTarget;
  targetTopic: string | null;
  selection: Record<string, unknown>;
}

/** Records the start of an operation before anything changes; returns its id. */
export async function startOperation(pool: Pool, start: OperationStart): Promise<string> {
  const result = await pool.query<{ id: string }>(
    `INSERT INTO dlq_operations (operation, actor, consumer_group, source_topic, dlq_topic, target_topic, selection)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      start.operation,
      start.actor,
      start.target.group.groupId,
      start.target.source.name,
      start.target.dlqTopic,
      start.targetTopic,
      JSON.stringify(start.selection),
    ],
  );
  return result.rows[0]!.id;
}

/** One message sent by a replay; recorded right after the broker acknowledged it. */
export async function recordReplayed(pool: Pool, operationId: string, dlqTopic: string, partition: number, offset: string): Promise<void> {
  await pool.query('INSERT INTO dlq_replayed_messages (operation_id, dlq_topic, dlq_partition, dlq_offset) VALUES ($1, $2, $3, $4)', [
    operationId,
    dlqTopic,
    partition,
    offset,
  ]);
}

export async function finishOperation(
  pool: Pool,
  operationId: string,
  counts: { messages: number; refused?: number; purgedUpTo?: Record<string, string> },
): Promise<void> {
  await pool.query(
    'UPDATE dlq_operations SET finished_at = now(), message_count = $2, refused_count = $3, purged_up_to = $4 WHERE id = $1',
    [operationId, counts.messages, counts.refused ?? 0, counts.purgedUpTo ? JSON.stringify(counts.purgedUpTo) : null],
  );
}

/** `partition/offset` of every message of this DLQ that a replay has sent. */
export async function replayedPositions(pool: Pool, dlqTopic: string): Promise<Set<string>> {
  const result = await pool.query<{ position: string }>(
    "SELECT DISTINCT dlq_partition || '/' || dlq_offset AS position FROM dlq_replayed_messages WHERE dlq_topic = $1",
    [dlqTopic],
  );
  return new Set(result.rows.map((row) => row.position));
}

export function position(partition: number, offset: string): string {
  return `${partition}/${offset}`;
}

export interface OperationRow {
  id: string;
  operation: string;
  actor: string;
  started_at: Date;
  finished_at: Date | null;
  consumer_group: string;
  source_topic: string;
  dlq_topic: string;
  target_topic: string | null;
  selection: Record<string, unknown>;
  message_count: number;
  refused_count: number;
  purged_up_to: Record<string, string> | null;
}

/** The log of one DLQ, newest first (tests, history views). */
export async function operationsOf(pool: Pool, dlqTopic: string): Promise<OperationRow[]> {
  const result = await pool.query<OperationRow>('SELECT * FROM dlq_operations WHERE dlq_topic = $1 ORDER BY id DESC', [dlqTopic]);
  return result.rows;
}
