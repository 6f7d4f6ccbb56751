import { createHash } from 'node:crypto';
import type { Pool } from '../db.js';
import { feed } from '../instrumentation/events.js';
import type { RetryPolicy } from '../kafka/topology.js';
import type { Logger } from '../logger.js';

/**
 * How many times the longest retry path a queued message may go unseen before it counts as lost:
 * room for consumer lag, a rebalance or a short outage on top of the path itself.
 */
const STALE_MARGIN = 10;

/** Every retry tier's delay in turn, without jitter (which only shortens them): the longest a message spends in the retry path. */
export function longestRetryPathMs(policy: Required<RetryPolicy>): number {
  let total = 0;
  for (let tier = 1; tier < policy.attempts; tier++) total += Math.min(policy.baseDelayMs * 2 ** (tier - 1), policy.maxDelayMs);
  return total;
}

/**
 * A queued message whose delivery has not been seen for this long is taken as lost (its retry topic
 * was deleted, retention removed it, its write failed after the enqueue). Every hop through a tier
 * touches its row, so the bound does not grow with the number of messages queued ahead of it.
 */
export function staleKeyHeadMs(policy: Required<RetryPolicy>): number {
  return STALE_MARGIN * longestRetryPathMs(policy);
}

/** Names a key in logs and metrics without the key itself (keys may be personal data). */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

export interface KeyOrderOptions {
  /** A head unseen for longer is released: see staleKeyHeadMs. */
  staleAfterMs: number;
  logger: Logger;
}

/**
 * The per-key queues behind ordered retries, in PostgreSQL so every member of the group (and the
 * next owner of a partition after a rebalance) sees the same queues.
 *
 * A head whose message can no longer arrive would hold its key for ever: a head unseen for longer
 * than the bound is released (the later events of its key go on, out of order for that one event)
 * and reported as an error and on the feed. Nothing counts as unseen before this member has been
 * in its group for the bound, so a group that was away does not mistake its own backlog for loss.
 */
export class KeyOrder {
  private joinedAt: number | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly group: string,
    private readonly options: KeyOrderOptions,
  ) {}

  /** This member (re)joined its group: the messages it now reads may have waited while it was away. */
  joined(now = Date.now()): void {
    this.joinedAt = now;
  }

  /**
   * The event that must be handled next for `key`, or undefined when nothing of the key waits.
   * `arriving` is the event being delivered: it is never stale itself, it just came.
   */
  async head(key: string, arriving: string): Promise<string | undefined> {
    for (;;) {
      const result = await this.pool.query<{ event_id: string; idle_ms: number }>(
        `SELECT event_id, (extract(epoch FROM now() - seen_at) * 1000)::float8 AS idle_ms
           FROM retry_key_queue WHERE consumer_group = $1 AND message_key = $2 ORDER BY seq LIMIT 1`,
        [this.group, key],
      );
      const head = result.rows[0];
      if (!head || head.event_id === arriving || head.idle_ms <= this.options.staleAfterMs || !this.settled()) return head?.event_id;
      const released = await this.pool.query<{ idle_ms: number }>(
        `DELETE FROM retry_key_queue
          WHERE consumer_group = $1 AND message_key = $2 AND event_id = $3 AND seen_at < now() - make_interval(secs => $4)
          RETURNING (extract(epoch FROM now() - seen_at) * 1000)::float8 AS idle_ms`,
        [this.group, key, head.event_id, this.options.staleAfterMs / 1000],
      );
      const row = released.rows[0];
      if (row) this.alert(key, head.event_id, row.idle_ms, 'released a key queue head whose message never came back; the key goes on');
    }
  }

  /** Appends the event to its key's queue, or marks it seen again when it is queued already (each hop through a tier). */
  async enqueue(key: string, eventId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO retry_key_queue (consumer_group, message_key, event_id) VALUES ($1, $2, $3)
       ON CONFLICT (consumer_group, message_key, event_id) DO UPDATE SET seen_at = now()`,
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

  /**
   * Deletes the group's rows unseen for longer than the bound, heads or not: their messages are lost
   * (a head of a key without later traffic is never met by head()). Each is reported like a
   * released head. Returns how many went.
   */
  async prune(): Promise<number> {
    if (!this.settled()) return 0;
    const result = await this.pool.query<{ message_key: string; event_id: string; idle_ms: number }>(
      `DELETE FROM retry_key_queue WHERE consumer_group = $1 AND seen_at < now() - make_interval(secs => $2)
       RETURNING message_key, event_id, (extract(epoch FROM now() - seen_at) * 1000)::float8 AS idle_ms`,
      [this.group, this.options.staleAfterMs / 1000],
    );
    for (const row of result.rows) this.alert(row.message_key, row.event_id, row.idle_ms, 'pruned a key queue entry whose message never came back');
    return result.rowCount ?? 0;
  }

  private settled(): boolean {
    return this.joinedAt !== undefined && Date.now() - this.joinedAt > this.options.staleAfterMs;
  }

  private alert(key: string, eventId: string, idleMs: number, message: string): void {
    const hash = keyHash(key);
    const idleSeconds = idleMs / 1000;
    feed.consumerKeyHeadReleased.publish({ group: this.group, keyHash: hash, eventId, idleSeconds });
    this.options.logger.error({ keyHash: hash, eventId, idleSeconds, staleAfterSeconds: this.options.staleAfterMs / 1000 }, message);
  }
}
