import type { Pool } from '../db.js';
import type { Reply } from './reply.js';

export const requestReplySql = new URL('../sql/request-reply.sql', import.meta.url);

/** A timed-out request as any requester instance sees it. */
export type StoredResult<T> =
  | { state: 'answered'; outcome: Reply<T> }
  | { state: 'pending'; deadline: Date }
  /** Its deadline passed with no reply: none will come (the replier drops expired requests). */
  | { state: 'expired'; deadline: Date };

/**
 * Late replies in PostgreSQL (request_reply_results), so a reply that came after its request timed
 * out is served by every instance: a timeout is not a loss. Rows are kept a day.
 */
export class ResultStore<T> {
  constructor(private readonly pool: Pool) {}

  /** Records a request that timed out and still expects its reply (before its 202 goes out). */
  async expect(correlationId: string, deadline: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO request_reply_results (correlation_id, deadline) VALUES ($1, to_timestamp($2 / 1000.0)) ON CONFLICT DO NOTHING',
      [correlationId, deadline],
    );
  }

  /** Stores a late reply; the first one stays (a second copy changes nothing). Also before expect() has run. */
  async settle(correlationId: string, outcome: Reply<T>): Promise<void> {
    await this.pool.query(
      `INSERT INTO request_reply_results AS r (correlation_id, deadline, outcome, answered_at) VALUES ($1, now(), $2, now())
       ON CONFLICT (correlation_id) DO UPDATE SET outcome = EXCLUDED.outcome, answered_at = now() WHERE r.outcome IS NULL`,
      [correlationId, JSON.stringify(outcome)],
    );
  }

  async find(correlationId: string): Promise<StoredResult<T> | undefined> {
    const { rows } = await this.pool.query<{ outcome: Reply<T> | null; deadline: Date; expired: boolean }>(
      'SELECT outcome, deadline, deadline < now() AS expired FROM request_reply_results WHERE correlation_id = $1',
      [correlationId],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.outcome) return { state: 'answered', outcome: row.outcome };
    return { state: row.expired ? 'expired' : 'pending', deadline: row.deadline };
  }

  async prune(retentionMs = 24 * 3600_000): Promise<number> {
    const result = await this.pool.query('DELETE FROM request_reply_results WHERE created_at < now() - make_interval(secs => $1)', [retentionMs / 1000]);
    return result.rowCount ?? 0;
  }
}
