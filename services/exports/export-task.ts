import type { Pool } from '../../shared/db.js';
import { copyChunks } from '../../shared/tasks/copy-chunks.js';
import type { TaskHandler } from '../../shared/tasks/worker-pool.js';
import { countRows, readStatement, type Cursor, type ExportParams } from './kinds.js';

export interface ExportHandlerOptions {
  /** How long one read statement runs before the next continues from its last key (see copyChunks). */
  readWindowMs: number;
}

/**
 * The exports' task: a claim reads the rows from its checkpoint on as one ordered statement, the
 * CSV written by PostgreSQL's own COPY, and each chunk of its records is written to export_chunks
 * under the claim's fence with its last key as the checkpoint.
 */
export function exportHandler(pool: Pool, options: ExportHandlerOptions): TaskHandler<ExportParams, Cursor> {
  return {
    total: (params) => countRows(pool, params),
    async *chunks(params, checkpoint, limit, signal) {
      const from = checkpoint && checkpoint.length > 0 ? checkpoint.map(String) : undefined;
      const copied = copyChunks(pool, {
        statement: (after) => readStatement(params, after),
        keyColumns: 2,
        after: from,
        limit,
        windowMs: options.readWindowMs,
        signal,
      });
      for await (const chunk of copied) {
        yield {
          rows: chunk.rows,
          checkpoint: chunk.key ?? from ?? [],
          last: chunk.last,
          write: async (tx, { taskId, seq, fence }) => {
            if (chunk.rows === 0) return;
            // The records' bytes as a binary parameter: a text value as it came, never decoded here.
            await tx.query('INSERT INTO export_chunks (export_id, seq, fence, rows, data) VALUES ($1, $2, $3, $4, $5::text)', [
              taskId,
              seq,
              fence,
              chunk.rows,
              chunk.data,
            ]);
          },
        };
      }
    },
  };
}
