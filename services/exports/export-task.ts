import type { Pool } from '../../shared/db.js';
import type { TaskHandler } from '../../shared/tasks/worker-pool.js';
import { csvLines } from './csv.js';
import { countRows, readPage, type Cursor, type ExportParams } from './kinds.js';

/** The exports' task: each chunk is a page of CSV rows, written to export_chunks under the claim's fence. */
export function exportHandler(pool: Pool): TaskHandler<ExportParams, Cursor> {
  return {
    total: (params) => countRows(pool, params),
    chunk: async (params, checkpoint, limit) => {
      const page = await readPage(pool, params, checkpoint, limit);
      const data = csvLines(page.rows);
      return {
        rows: page.rows.length,
        checkpoint: page.cursor,
        last: page.rows.length < limit,
        write: async (tx, { taskId, seq, fence }) => {
          if (page.rows.length === 0) return;
          await tx.query('INSERT INTO export_chunks (export_id, seq, fence, rows, data) VALUES ($1, $2, $3, $4, $5)', [
            taskId,
            seq,
            fence,
            page.rows.length,
            data,
          ]);
        },
      };
    },
  };
}
