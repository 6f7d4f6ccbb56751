import type { Pool } from '../db.js';

/**
 * The per-key queues behind ordered retries, in PostgreSQL so every member of the group (and the
 * next owner of a partition after a rebalance) sees the same queues.
 */
export class KeyOrder {
  constructor(
    private readonly pool: Pool,
    private readonly group: string,
  ) {}

  /** The event that must be handled next for `key`, or undefined when nothing of the key waits. */
  async head(key: string): Promise<string | undefined> {
    const result = await this.pool.query<{ event_id: string }>(
      'SELECT event_id FROM retry_key_queue WHERE consumer_group = $1 AND message_key = $2 ORDER BY seq LIMIT 1',
      [this.group, key],
    );
    return result.rows[0]?.event_id;
  }

  /** Appends the event to its key's queue (no-op when it is queued already). */
  async enqueue(key: string, eventId: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO retry_key_queue (consumer_group, message_key, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [this.group, key, eventId],
    );
  }

  /** Removes the event once it is handled or dead-lettered, unblocking the key's next message. */
  async release(key: string, eventId: string): Promise<void> {
    await this.pool.query('DELETE FROM retry_key_queue WHERE consumer_group = $1 AND message_key = $2 AND event_id = $3', [
      this.group,
      key,
      eventId,
    ]);
  }
}
