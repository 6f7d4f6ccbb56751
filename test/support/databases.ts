import { randomUUID } from 'node:crypto';
import pg from 'pg';

export interface OwnDatabase {
  name: string;
  url: string;
  /** A small pool on it for the test's own reads; its connection errors are ignored (a fault test terminates them). */
  pool: pg.Pool;
  /**
   * Makes the database refuse new connections and terminates every open one (the services' and the
   * test pool's), as an outage would; answers how many backends were terminated.
   */
  refuseConnections(): Promise<number>;
  allowConnections(): Promise<void>;
  /** Ends the pool and drops the database, whatever state it is in. */
  drop(): Promise<void>;
}

/**
 * A database of its own on the server of `baseUrl`, for a test that faults it or needs it empty
 * while the shared database stays up for everything else.
 */
export async function freshDatabase(baseUrl: string, prefix = 'op_test', poolSize = 2): Promise<OwnDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new URL(baseUrl);
  admin.pathname = '/postgres';
  const asAdmin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  await asAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: poolSize });
  pool.on('error', () => undefined);
  return {
    name,
    url: url.toString(),
    pool,
    refuseConnections: () =>
      asAdmin(async (c) => {
        await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
        const terminated = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        return terminated.rowCount ?? 0;
      }),
    allowConnections: () => asAdmin(async (c) => void (await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`))),
    drop: async () => {
      await pool.end();
      await asAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
