/** What a reader sees of a task's progress. */
export interface Progress {
  done: number;
  /** null until the task's first claim has counted its rows. */
  total: number | null;
  /** 0–100, one decimal; 100 once done reaches total. */
  percent: number | null;
  rowsPerSecond: number | null;
  /** Seconds left at the current rate; null while unknown, 0 when finished. */
  etaSeconds: number | null;
}

/**
 * The rate after a chunk: an exponential moving average, so one slow chunk (a takeover, a busy
 * database) moves the estimate without throwing it around.
 * @param weight the new chunk's share, 0–1
 */
export function smoothedRate(previous: number | null, rows: number, seconds: number, weight = 0.3): number | null {
  if (seconds <= 0 || rows <= 0) return previous;
  const current = rows / seconds;
  return previous === null || !Number.isFinite(previous) ? current : previous + weight * (current - previous);
}

export function progressOf(done: number, total: number | null, rowsPerSecond: number | null, finished: boolean): Progress {
  const percent = total === null ? null : total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 1000) / 10);
  const left = total === null ? null : Math.max(0, total - done);
  const etaSeconds = finished ? 0 : left === null || !rowsPerSecond ? null : Math.ceil(left / rowsPerSecond);
  return {
    done,
    total,
    percent,
    rowsPerSecond: rowsPerSecond === null ? null : Math.round(rowsPerSecond),
    etaSeconds,
  };
}
