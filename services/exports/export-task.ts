import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { to as copyTo } from 'pg-copy-streams';
import type { Pool } from '../../shared/db.js';
import type { TaskHandler } from '../../shared/tasks/worker-pool.js';
import { fromCopy } from './csv.js';
import { countRows, kinds, pageStatement, type Cursor, type ExportParams } from './kinds.js';

/** Runs `COPY (statement) TO STDOUT (FORMAT csv)` and answers its output. */
export async function copyOut(pool: Pool, statement: string): Promise<string> {
  const client = await pool.connect();
  const parts: Buffer[] = [];
  try {
    await pipeline(
      client.query(copyTo(`COPY (${statement}) TO STDOUT (FORMAT csv)`)),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          parts.push(chunk);
          done();
        },
      }),
    );
  } finally {
    client.release();
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The exports' task: each chunk is a page in key order, formatted by PostgreSQL's own CSV writer
 * (COPY), written to export_chunks under the claim's fence. No row is parsed here, which is what
 * keeps an export near the speed of a plain COPY.
 */
export function exportHandler(pool: Pool): TaskHandler<ExportParams, Cursor> {
  return {
    total: (params) => countRows(pool, params),
    chunk: async (params, checkpoint, limit) => {
      const page = fromCopy(await copyOut(pool, pageStatement(params, checkpoint, limit)), kinds[params.kind].keyColumns);
      return {
        rows: page.records,
        checkpoint: page.lastKey ?? checkpoint ?? kinds[params.kind].start,
        last: page.records < limit,
        write: async (tx, { taskId, seq, fence }) => {
          if (page.records === 0) return;
          await tx.query('INSERT INTO export_chunks (export_id, seq, fence, rows, data) VALUES ($1, $2, $3, $4, $5)', [
            taskId,
            seq,
            fence,
            page.records,
            page.csv,
          ]);
        },
      };
    },
  };
}
