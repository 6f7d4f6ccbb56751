import type { PoolClient } from '../db.js';

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
