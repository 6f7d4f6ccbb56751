import type { Pool, PoolClient } from '../db.js';

export const consumerRuntimeSql = new URL('../sql/consumer-runtime.sql', import.meta.url);

/**
 * Records that `group` handled `eventId`, inside the caller's transaction. Returns false when it was
 * recorded before: the caller then skips the effect, and the redelivery changes nothing.
 */
export async function claimEvent(client: PoolClient, group: string, eventId: string): Promise<boolean> {
  const result = await client.query(
    'INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [group, eventId],
  );
  return result.rowCount === 1;
}

/**
 * A duplicate can only arrive while the topic (7 days) or a DLQ replay (30 days) can still deliver
 * it; records older than that only cost space.
 */
export const processedEventsRetentionMs = 40 * 24 * 3600 * 1000;

/** Deletes `group`'s records older than `retentionMs`; returns how many went. */
export async function pruneProcessedEvents(pool: Pool, group: string, retentionMs = processedEventsRetentionMs): Promise<number> {
  const result = await pool.query(
    'DELETE FROM processed_events WHERE consumer_group = $1 AND processed_at < now() - make_interval(secs => $2)',
    [group, retentionMs / 1000],
  );
  return result.rowCount ?? 0;
}
