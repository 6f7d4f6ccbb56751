import type { RowRejectedError } from './errors.js';
import { RowsRejectedError, type WriteResult } from './store.js';

export interface Rejection {
  /** The rejected row's number. */
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
 * Writes rows [0, count) with `write(start, end)`, isolating the rows PostgreSQL rejects: a rejected
 * range is split and the parts are written again until every bad row stands alone; all other rows
 * are written. When COPY names the failing line, the rows before it are known good and the rest
 * is tried next (one retry per bad row); otherwise the range is bisected (about 2·log2(n) retries
 * per bad row). Any other error propagates.
 */
export async function writeIsolating(count: number, write: (start: number, end: number) => Promise<WriteResult>): Promise<IsolatedWrite> {
  const result: IsolatedWrite = { inserted: 0, rejected: [], writes: 0 };
  // Ranges [start, end), handled depth-first from the front so that good rows land early.
  const pending: Array<[number, number]> = count > 0 ? [[0, count]] : [];
  while (pending.length > 0) {
    const [start, end] = pending.pop()!;
    result.writes++;
    try {
      result.inserted += (await write(start, end)).inserted;
    } catch (error) {
      if (!(error instanceof RowsRejectedError)) throw error;
      if (end - start === 1) {
        result.rejected.push({ index: start, error });
      } else if (error.index !== undefined) {
        const bad = start + error.index;
        result.rejected.push({ index: bad, error });
        if (bad + 1 < end) pending.push([bad + 1, end]);
        if (bad > start) pending.push([start, bad]);
      } else {
        const middle = start + Math.ceil((end - start) / 2);
        pending.push([middle, end], [start, middle]);
      }
    }
  }
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}
