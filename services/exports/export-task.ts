import type { Pool } from '../../shared/db.js';
import type { TaskHandler } from '../../shared/tasks/worker-pool.js';
import { countRows, kinds, type Cursor, type ExportParams } from './kinds.js';

/**
 * One chunk in one statement, inside the task's fenced transaction: the page's lines joined into
 * the chunk's CSV and stored, and the page's size and last key answered for the checkpoint. The
 * rows never leave PostgreSQL, which keeps an export near the speed of a plain COPY.
 */
const chunkSql = (pageSql: string) => `
  WITH page AS MATERIALIZED (${pageSql}),
  written AS (
    INSERT INTO export_chunks (export_id, seq, fence, rows, data)
    SELECT $6::uuid, $7::int, $8::bigint, count(*), string_agg(line, '' ORDER BY k1, k2) FROM page HAVING count(*) > 0
    RETURNING rows
  )
  SELECT (SELECT count(*) FROM page)::int AS rows, last.k1, last.k2
    FROM (SELECT 1) AS one LEFT JOIN (SELECT k1::text, k2::text FROM page ORDER BY k1 DESC, k2 DESC LIMIT 1) AS last ON true`;

const statements = Object.fromEntries(Object.entries(kinds).map(([kind, query]) => [kind, chunkSql(query.pageSql)]));

/** The exports' task: each chunk a page in key order, written to export_chunks under the claim's fence. */
export function exportHandler(pool: Pool): TaskHandler<ExportParams, Cursor> {
  return {
    total: (params) => countRows(pool, params),
    chunk: async (tx, params, checkpoint, limit, { taskId, seq, fence }) => {
      const after = checkpoint ?? kinds[params.kind].start;
      const { rows } = await tx.query<{ rows: number; k1: string | null; k2: string | null }>(statements[params.kind]!, [
        params.from,
        params.to,
        ...after,
        limit,
        taskId,
        seq,
        fence,
      ]);
      const page = rows[0]!;
      return {
        rows: page.rows,
        checkpoint: page.k1 === null || page.k2 === null ? after : [page.k1, page.k2],
        last: page.rows < limit,
      };
    },
  };
}
