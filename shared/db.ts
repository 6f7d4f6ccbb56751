import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { databaseConnectFailure } from './dependency-unavailable.js';
import type { Logger } from './logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type PoolConfig = pg.PoolConfig;
/** A pool (each call commits on its own) or the caller's transaction (what it writes exists iff that commits). */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/**
 * A pool whose failures to hand out a connection (refused, "not accepting connections", too many
 * clients, the pool's connect timeout) are DependencyUnavailableErrors: no statement ran, so no
 * message can be at fault, whatever code the server gave. pool.query() connects through connect() too.
 */
class ServicePool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    if (!callback) {
      return super.connect().catch((error: unknown) => {
        throw databaseConnectFailure(error);
      });
    }
    super.connect((error, client, done) => callback(error && databaseConnectFailure(error), client, done));
  }
}

export function createPool(databaseUrl: string, logger: Logger, options: pg.PoolConfig = {}): pg.Pool {
  const pool = new ServicePool({ connectionString: databaseUrl, max: 10, ...options });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database client failed'));
  return pool;
}

/** The hooks of each transaction withTransaction has open, by its connection. */
const commitHooks = new WeakMap<pg.PoolClient, Set<() => void>>();

/**
 * Runs `hook` once the transaction open on `client` has committed (never if it rolls back), e.g. to
 * wake whoever publishes what it wrote. A client outside withTransaction commits each statement at
 * once, so the hook runs at once. Hooks must not throw; one registered twice runs once.
 */
export function afterCommit(client: pg.PoolClient, hook: () => void): void {
  const hooks = commitHooks.get(client);
  if (hooks) hooks.add(hook);
  else hook();
}

export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const hooks = new Set<() => void>();
  // The pool listens for errors only on idle clients: a connection lost while checked out (server
  // restarted) would emit an unhandled 'error' and end the process. The failing query reports it.
  const ignore = () => undefined;
  client.on('error', ignore);
  let broken = false;
  let result: T;
  try {
    await client.query('BEGIN');
    commitHooks.set(client, hooks);
    result = await work(client);
    await client.query('COMMIT');
  } catch (error) {
    broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    throw error;
  } finally {
    commitHooks.delete(client);
    client.off('error', ignore);
    // A connection that cannot even roll back is discarded, not handed to the next caller.
    client.release(broken);
  }
  for (const hook of hooks) hook();
  return result;
}

/**
 * Applies a service's own idempotent SQL file (CREATE ... IF NOT EXISTS) under an advisory lock,
 * so several instances starting together do not race on the same DDL.
 */
export async function applySchema(pool: pg.Pool, sqlFile: URL): Promise<void> {
  const sql = await readFile(sqlFile, 'utf8');
  await withTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('order-pipeline schema'))");
    await client.query(sql);
  });
}
