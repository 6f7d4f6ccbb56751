import type { RowRejectedError } from './errors.js';
import { RowsRejectedError, type WriteResult } from './store.js';

export interface Rejection {
  /** Index into the rows given to writeIsolating. */
  index: number;
  error: RowRejectedError;
}

export interface IsolatedWrite {
  inserted: number;
  rejected: Rejection[];
  /** Transactions it took: 1 when no row was rejected. */
  writes: number;
}

/**
 * Writes `rows`, isolating the ones PostgreSQL rejects: a rejected write is split and the parts
 * are written again until every bad row stands alone; all other rows are written. When COPY names
 * the failing line, the rows before it are known good and the rest is tried next (one retry per bad
 * row); otherwise the rows are bisected (about 2·log2(n) retries per bad row). Other errors propagate.
 */
export async function writeIsolating<R>(
  rows: readonly R[],
  write: (rows: readonly R[]) => Promise<WriteResult>,
): Promise<IsolatedWrite> {
  const result: IsolatedWrite = { inserted: 0, rejected: [], writes: 0 };
  // Segments of indices into rows, handled depth-first so good rows land early.
  const pending: number[][] = [rows.map((_, index) => index)];
  while (pending.length > 0) {
    const segment = pending.pop()!;
    result.writes++;
    try {
      result.inserted += (await write(segment.map((index) => rows[index]!))).inserted;
    } catch (error) {
      if (!(error instanceof RowsRejectedError)) throw error;
      if (segment.length === 1) {
        result.rejected.push({ index: segment[0]!, error });
      } else if (error.index !== undefined) {
        const bad = error.index;
        result.rejected.push({ index: segment[bad]!, error });
        if (bad + 1 < segment.length) pending.push(segment.slice(bad + 1));
        if (bad > 0) pending.push(segment.slice(0, bad));
      } else {
        const half = Math.ceil(segment.length / 2);
        pending.push(segment.slice(half), segment.slice(0, half));
      }
    }
  }
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}
