import { randomUUID } from 'node:crypto';
import { withTransaction, type Pool } from '../db.js';
import { clientIdOf, hashKey, keyMatches, newKey } from './keys.js';

/** The SQL of the api_clients table, applied by every service that authenticates clients. */
export const clientsSql = new URL('../sql/clients.sql', import.meta.url);

export interface ClientView {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

const columns = `id, name, to_json(created_at) #>> '{}' AS "createdAt", to_json(revoked_at) #>> '{}' AS "revokedAt"`;

/** A client name as the CLI and the store accept it. */
export const clientNamePattern = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export class ClientNameTakenError extends Error {
  readonly code = 'CLIENT_NAME_TAKEN';
  readonly retriable = false;
  constructor(name: string) {
    super(`a client named "${name}" exists already`);
    this.name = 'ClientNameTakenError';
  }
}

/** API clients and their keys; keys are only ever stored as their hash. */
export class ClientStore {
  constructor(private readonly pool: Pool) {}

  /** A new client and its key, which the caller shows once: it is not kept. */
  async create(name: string): Promise<ClientView & { key: string }> {
    const id = randomUUID();
    const key = newKey(id);
    const { rows } = await this.pool.query<ClientView>(
      `INSERT INTO api_clients (id, name, key_hash) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING ${columns}`,
      [id, name, hashKey(key)],
    );
    if (!rows[0]) throw new ClientNameTakenError(name);
    return { ...rows[0], key };
  }

  /**
   * Makes sure a client with this name has exactly this key (a local stack's demo client, whose key
   * comes from its environment): created when missing, its hash and revocation reset when not.
   */
  async ensure(name: string, key: string): Promise<ClientView> {
    const id = clientIdOf(key);
    if (!id) throw new Error(`the key for client "${name}" is not an API key (opk_<32 hex>_<secret>)`);
    return withTransaction(this.pool, async (tx) => {
      // Another client holding the name (an older demo key) keeps its orders under a new name.
      await tx.query(`UPDATE api_clients SET name = name || '-' || left(id::text, 8) WHERE name = $1 AND id <> $2`, [name, id]);
      const { rows } = await tx.query<ClientView>(
        `INSERT INTO api_clients (id, name, key_hash) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, key_hash = EXCLUDED.key_hash, revoked_at = NULL
         RETURNING ${columns}`,
        [id, name, hashKey(key)],
      );
      return rows[0]!;
    });
  }

  async list(): Promise<ClientView[]> {
    return (await this.pool.query<ClientView>(`SELECT ${columns} FROM api_clients ORDER BY created_at, name`)).rows;
  }

  /** Revokes by name or id; false when there is no such client still active. */
  async revoke(nameOrId: string): Promise<ClientView | undefined> {
    const { rows } = await this.pool.query<ClientView>(
      `UPDATE api_clients SET revoked_at = now() WHERE (name = $1 OR id::text = $1) AND revoked_at IS NULL RETURNING ${columns}`,
      [nameOrId],
    );
    return rows[0];
  }

  /** The id of the active client a key belongs to, or undefined. */
  async authenticate(key: string): Promise<string | undefined> {
    const id = clientIdOf(key);
    if (!id) return undefined;
    const { rows } = await this.pool.query<{ key_hash: string }>('SELECT key_hash FROM api_clients WHERE id = $1 AND revoked_at IS NULL', [id]);
    const row = rows[0];
    return row && keyMatches(key, row.key_hash) ? id : undefined;
  }
}
