import type { Queryable } from '../db.js';

export interface IdempotencyKeysOptions {
  /**
   * Its table, created by the owning service's schema: `client_id uuid`, `idempotency_key text`,
   * `request_hash text`, the resource column, `created_at timestamptz`, primary key
   * `(client_id, idempotency_key)`, an index on `created_at`.
   */
  table: string;
  /** The column holding the id of what the key's first request created (an order, an export). */
  resourceColumn: string;
  /** @defaultValue 24 */
  ttlHours?: number;
}

/** What a request with an Idempotency-Key claims: its client, the key and the hash of its body. */
export interface IdempotencyKeyClaim {
  clientId: string;
  key: string;
  requestHash: string;
}

/** The key's first request: what it created and the hash of its body (a different body is a misuse). */
export interface EarlierRequest {
  resourceId: string;
  requestHash: string;
}

export type ClaimOutcome = { kind: 'claimed' } | ({ kind: 'taken' } & EarlierRequest);

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const invalidKeyMessage = `${IDEMPOTENCY_KEY_HEADER} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`;
export const reusedKeyMessage = `${IDEMPOTENCY_KEY_HEADER} was already used with a different request`;

export function isValidIdempotencyKey(key: string): boolean {
  return key.length > 0 && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH;
}

/**
 * An API's Idempotency-Keys: scoped per client (another client's same key is another key), answering
 * again for `ttlHours`, then ignored, taken over by a new request and pruned.
 */
export class IdempotencyKeys {
  private readonly alive: string;

  constructor(private readonly options: IdempotencyKeysOptions) {
    this.alive = `created_at > now() - interval '${options.ttlHours ?? 24} hours'`;
  }

  /** The key's earlier request while the key has not expired. */
  async find(db: Queryable, clientId: string, key: string): Promise<EarlierRequest | undefined> {
    const { table, resourceColumn } = this.options;
    const { rows } = await db.query<EarlierRequest>(
      `SELECT ${resourceColumn} AS "resourceId", request_hash AS "requestHash" FROM ${table}
        WHERE client_id = $1 AND idempotency_key = $2 AND ${this.alive}`,
      [clientId, key],
    );
    return rows[0];
  }

  /**
   * Claims the key for `resourceId` inside the transaction that creates it, so the key and what it
   * made commit together. A concurrent request with the same key waits on the key's row and then
   * finds it taken; an expired key is taken over, as if it had been pruned already.
   */
  async claim(tx: Queryable, claim: IdempotencyKeyClaim, resourceId: string): Promise<ClaimOutcome> {
    const { table, resourceColumn } = this.options;
    const claimed = await tx.query(
      `INSERT INTO ${table} (client_id, idempotency_key, request_hash, ${resourceColumn}) VALUES ($1, $2, $3, $4)
       ON CONFLICT (client_id, idempotency_key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, ${resourceColumn} = EXCLUDED.${resourceColumn}, created_at = now()
         WHERE NOT (${table}.${this.alive})`,
      [claim.clientId, claim.key, claim.requestHash, resourceId],
    );
    if (claimed.rowCount === 1) return { kind: 'claimed' };
    const { rows } = await tx.query<EarlierRequest>(
      `SELECT ${resourceColumn} AS "resourceId", request_hash AS "requestHash" FROM ${table} WHERE client_id = $1 AND idempotency_key = $2`,
      [claim.clientId, claim.key],
    );
    return { kind: 'taken', ...rows[0]! };
  }

  /** Deletes expired keys; how many. */
  async prune(db: Queryable): Promise<number> {
    const { rowCount } = await db.query(`DELETE FROM ${this.options.table} WHERE NOT (${this.alive})`);
    return rowCount ?? 0;
  }
}
