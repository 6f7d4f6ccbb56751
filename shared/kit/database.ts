import { consumerRuntimeSql } from '../consumer/processed-events.js';
import { applySchema, createPool, type Pool, type PoolConfig } from '../db.js';
import type { Logger } from '../logger.js';
import { Outbox } from '../outbox/outbox.js';
import type { GracefulShutdown } from '../shutdown.js';

export interface DatabaseOptions {
  url: string;
  /** The service's own idempotent SQL files (CREATE ... IF NOT EXISTS), applied in order. */
  sql?: readonly URL[];
  /**
   * Whether the consumer runtime's own tables (processed events, ordered retries) are created and
   * the runtime is given the pool (it prunes the group's old claims).
   * @defaultValue true
   */
  consumerRuntime?: boolean;
  /** The service's outbox table, created if missing; without it the service has no outbox. */
  outbox?: string;
  /** @defaultValue 10 connections, pg's other defaults */
  pool?: PoolConfig;
  /**
   * Connections opened at start instead of in the first requests (password authentication takes a while).
   * @defaultValue 0
   */
  warmConnections?: number;
}

export interface Database {
  pool: Pool;
  outbox: Outbox | undefined;
  /** Whether the consumer runtime's tables are there. */
  consumerRuntime: boolean;
}

/** Opens the pool (closed on shutdown) and applies what the service owns: runtime tables, its SQL files, its outbox. */
export async function openDatabase(options: DatabaseOptions, logger: Logger, shutdown: GracefulShutdown): Promise<Database> {
  const pool = createPool(options.url, logger, options.pool);
  shutdown.add('database pool', () => pool.end());
  const consumerRuntime = options.consumerRuntime ?? true;
  if (consumerRuntime) await applySchema(pool, consumerRuntimeSql);
  for (const file of options.sql ?? []) await applySchema(pool, file);
  const outbox = options.outbox === undefined ? undefined : new Outbox(pool, options.outbox);
  await outbox?.create();
  const warm = await Promise.all(Array.from({ length: options.warmConnections ?? 0 }, () => pool.connect()));
  for (const client of warm) client.release();
  return { pool, outbox, consumerRuntime };
}
