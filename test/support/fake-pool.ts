import type { Pool } from '../../shared/db.js';

/**
 * A stand-in for pg.Pool with one connection, for unit tests of code that only runs statements in
 * transactions: it records every statement and answers `rowCount` from `answer`.
 */
export function fakePool(answer: (sql: string, params: unknown[] | undefined) => number = () => 1) {
  const statements: string[] = [];
  let failOn: RegExp | undefined;
  const client = {
    query: async (sql: string, params?: unknown[]) => {
      statements.push(sql.trim().split(/\s+/).slice(0, 3).join(' '));
      if (failOn?.test(sql)) throw new Error(`failed: ${sql}`);
      return { rowCount: answer(sql, params), rows: [] };
    },
    on: () => client,
    off: () => client,
    release: () => undefined,
  };
  const pool = { connect: async () => client, query: client.query } as unknown as Pool;
  return {
    pool,
    statements,
    /** Makes statements matching `pattern` fail from now on. */
    failOn: (pattern: RegExp) => (failOn = pattern),
  };
}
