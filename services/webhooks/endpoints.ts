import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool } from '../../shared/db.js';
import { newSecret } from '../../shared/webhooks/signature.js';

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 3600_000;

export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  createdAt: string;
  disabledAt: string | null;
  disabledReason: string | null;
  /** Since when every attempt has failed; null after a success. */
  failingSince: string | null;
}

const columns = `id, url, event_types AS events, to_json(created_at) #>> '{}' AS "createdAt",
  to_json(disabled_at) #>> '{}' AS "disabledAt", disabled_reason AS "disabledReason",
  to_json(failing_since) #>> '{}' AS "failingSince"`;

/** Webhook endpoints and their secrets. Each belongs to the API client that registered it; another client's is not found. */
export class Endpoints {
  constructor(private readonly pool: Pool) {}

  /** A new endpoint and its first secret, which the caller shows once. */
  async create(clientId: string, url: string, events: readonly string[]): Promise<EndpointView & { secret: string }> {
    const id = `ep_${randomUUID()}`;
    const secret = newSecret();
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<EndpointView>(`INSERT INTO webhook_endpoints (id, url, event_types, client_id) VALUES ($1, $2, $3, $4) RETURNING ${columns}`,
        [id, url, events, clientId],
      );
      await tx.query('INSERT INTO webhook_secrets (endpoint_id, secret) VALUES ($1, $2)', [id, secret]);
      return { ...rows[0]!, secret };
    });
  }

  async get(clientId: string, id: string): Promise<EndpointView | undefined> {
    const { rows } = await this.pool.query<EndpointView>(`SELECT ${columns} FROM webhook_endpoints WHERE id = $1 AND client_id = $2`, [id, clientId]);
    return rows[0];
  }

  async list(clientId: string): Promise<EndpointView[]> {
    const { rows } = await this.pool.query<EndpointView>(`SELECT ${columns} FROM webhook_endpoints WHERE client_id = $1 ORDER BY created_at, id`, [clientId]);
    return rows;
  }

  /** Deletes the endpoint with its deliveries; their scheduled attempts then find nothing to do. */
  async delete(clientId: string, id: string): Promise<boolean> {
    return (await this.pool.query('DELETE FROM webhook_endpoints WHERE id = $1 AND client_id = $2', [id, clientId])).rowCount === 1;
  }

  /** A new secret; the ones signing now keep signing for SECRET_OVERLAP_MS. Undefined for an unknown endpoint. */
  async rotateSecret(clientId: string, id: string): Promise<{ secret: string; previousExpiresAt: string } | undefined> {
    const secret = newSecret();
    return withTransaction(this.pool, async (tx) => {
      const { rowCount } = await tx.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 AND client_id = $2 FOR UPDATE', [id, clientId]);
      if (rowCount !== 1) return undefined;
      const { rows } = await tx.query<{ expires: string }>(
        `SELECT to_json(now() + make_interval(secs => $1::float8 / 1000)) #>> '{}' AS expires`,
        [SECRET_OVERLAP_MS],
      );
      const expires = rows[0]!.expires;
      await tx.query('UPDATE webhook_secrets SET expires_at = $2 WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2)', [id, expires]);
      await tx.query('INSERT INTO webhook_secrets (endpoint_id, secret) VALUES ($1, $2)', [id, secret]);
      return { secret, previousExpiresAt: expires };
    });
  }
}
