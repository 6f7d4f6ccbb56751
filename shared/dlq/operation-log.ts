import { HEADERS } from '../consumer/headers.js';
import type { Pool } from '../db.js';
import type { DlqRecord } from './reader.js';
import { replaysOf } from './replay-headers.js';
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

/** What identifies a DLQ entry for the replay guard: its headers and where the DLQ keeps it. */
export type GuardedEntry = Pick<DlqRecord, 'headers' | 'partition' | 'offset'>;

/**
 * A DLQ entry's identity that survives the DLQ topic being recreated (its offsets then start at 0
 * again): the original message's topic/partition/offset, else its event id, with the entry's replay
 * count, so that a replayed message failing again is a new entry. Only an entry carrying neither
 * falls back to its DLQ position.
 */
export function entryKey(record: GuardedEntry): string {
  const h = record.headers;
  const replays = `#${replaysOf(record)}`;
  const topic = h[HEADERS.originalTopic];
  const partition = h[HEADERS.originalPartition];
  const offset = h[HEADERS.originalOffset];
  if (topic && partition && offset) return `original:${topic}/${partition}/${offset}${replays}`;
  const eventId = h[HEADERS.eventId];
  if (eventId) return `event:${eventId}${replays}`;
  return `dlq:${position(record.partition, record.offset)}`;
}

/** One message sent by a replay; recorded right after the broker acknowledged it. */
export async function recordReplayed(pool: Pool, operationId: string, dlqTopic: string, record: GuardedEntry): Promise<void> {
  await pool.query(
    'INSERT INTO dlq_replayed_messages (operation_id, dlq_topic, dlq_partition, dlq_offset, entry_key) VALUES ($1, $2, $3, $4, $5)',
    [operationId, dlqTopic, record.partition, record.offset, entryKey(record)],
  );
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

/** The DLQ entries of this DLQ that a replay has sent. */
export class ReplayedEntries {
  constructor(
    private readonly keys: ReadonlySet<string>,
    /** DLQ positions recorded before entry keys were (rows with entry_key NULL). */
    private readonly legacyPositions: ReadonlySet<string>,
  ) {}

  has(record: GuardedEntry): boolean {
    return this.keys.has(entryKey(record)) || this.legacyPositions.has(position(record.partition, record.offset));
  }
}

export async function replayedEntries(pool: Pool, dlqTopic: string): Promise<ReplayedEntries> {
  const result = await pool.query<{ entry_key: string | null; position: string }>(
    "SELECT DISTINCT entry_key, dlq_partition || '/' || dlq_offset AS position FROM dlq_replayed_messages WHERE dlq_topic = $1",
    [dlqTopic],
  );
  const keys = new Set<string>();
  const legacy = new Set<string>();
  for (const row of result.rows) {
    if (row.entry_key === null) legacy.add(row.position);
    else keys.add(row.entry_key);
  }
  return new ReplayedEntries(keys, legacy);
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
