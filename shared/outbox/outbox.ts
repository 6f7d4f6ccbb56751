import { HEADERS } from '../consumer/headers.js';
import { afterCommit, withTransaction, type Pool, type PoolClient } from '../db.js';
import type { TopicDeclaration } from '../kafka/topology.js';

/**
 * A transactional outbox: a service writes the events of a state change into its own outbox table
 * in the same transaction as the change, and an OutboxRelay publishes them afterwards. Either both
 * the change and its events commit, or neither does; the relay may publish a row twice (a crash
 * between the send and marking it sent, a relay whose lease ran out mid-round), never lose it, and
 * consumers deduplicate on the event id.
 *
 * Each service owns its table (Outbox.create at start-up), in its own database schema.
 */
export interface OutboxMessage<T> {
  topic: TopicDeclaration<T>;
  key: string;
  /** Stored as JSON, encoded to Avro by the relay, so writing an order never waits for the registry. */
  value: T;
  eventId: string;
  correlationId?: string | undefined;
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/** A table name that is safe to interpolate into SQL (it cannot be a query parameter). */
export function outboxTable(name: string): string {
  if (!identifier.test(name)) throw new Error(`outbox table "${name}" is not a plain lower-case identifier`);
  return name;
}

/** Creates a service's outbox table and the indexes the relay scans, if missing (idempotent). */
export async function createOutboxTable(pool: Pool, table: string): Promise<void> {
  const name = outboxTable(table);
  await withTransaction(pool, async (client) => {
    // The same lock as applySchema: instances starting together do not race on the DDL.
    await client.query("SELECT pg_advisory_xact_lock(hashtext('order-pipeline schema'))");
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${name} (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        topic text NOT NULL,
        message_key text NOT NULL,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        failed_at timestamptz,
        error text,
        leased_until timestamptz,
        lease_token uuid
      );`);
    // Tables created before relays leased their rows. Checked first: ALTER TABLE locks the table
    // exclusively even when it changes nothing, and would queue behind a running relay.
    const { rows } = await client.query("SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'lease_token'", [name]);
    if (rows.length === 0) {
      await client.query(`ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS leased_until timestamptz, ADD COLUMN IF NOT EXISTS lease_token uuid`);
    }
    // The relay's claim: unsent rows in id order, the rows under a lease, a key's unsent rows.
    await client.query(`
      CREATE INDEX IF NOT EXISTS ${name}_unsent ON ${name} (id) WHERE sent_at IS NULL AND failed_at IS NULL;
      CREATE INDEX IF NOT EXISTS ${name}_leased ON ${name} (leased_until) WHERE sent_at IS NULL AND failed_at IS NULL AND leased_until IS NOT NULL;
      CREATE INDEX IF NOT EXISTS ${name}_unsent_key ON ${name} (message_key, id) WHERE sent_at IS NULL AND failed_at IS NULL;`);
  });
}

/**
 * A service's outbox table. append() writes inside the caller's transaction and, once that commits,
 * wakes whoever listens (the service's own relay), so a row is published within milliseconds
 * instead of at the next poll; nothing is woken for a rolled-back transaction.
 */
export class Outbox {
  readonly table: string;
  private readonly listeners = new Set<() => void>();
  private readonly committed = () => {
    for (const listener of this.listeners) listener();
  };

  constructor(
    private readonly pool: Pool,
    table: string,
  ) {
    this.table = outboxTable(table);
  }

  /** Creates the table if missing (idempotent). */
  create(): Promise<void> {
    return createOutboxTable(this.pool, this.table);
  }

  /** Appends messages inside the caller's transaction; listeners hear of them after its commit. */
  async append(tx: PoolClient, messages: ReadonlyArray<OutboxMessage<unknown>>): Promise<void> {
    if (messages.length === 0) return;
    await tx.query(
      `INSERT INTO ${this.table} (event_id, topic, message_key, payload, headers)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])`,
      [
        messages.map((m) => m.eventId),
        messages.map((m) => m.topic.name),
        messages.map((m) => m.key),
        messages.map((m) => JSON.stringify(m.value)),
        messages.map((m) => JSON.stringify(m.correlationId ? { [HEADERS.correlationId]: m.correlationId } : {})),
      ],
    );
    afterCommit(tx, this.committed);
  }

  /** `listener` runs after each commit that appended rows; returns the unsubscribe. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
