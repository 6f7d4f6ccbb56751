import type { Logger } from './logger.js';

export interface PrunePeriodicallyOptions {
  /** What is pruned, for the logs (a table name). */
  what: string;
  /** Deletes what has expired; how many rows. */
  prune: () => Promise<number>;
  logger: Logger;
  /** @defaultValue 3,600,000 (hourly) */
  everyMs?: number;
}

/**
 * Runs `prune` every `everyMs` for tables that only grow otherwise (the rows are already ignored once
 * expired: this keeps the table small, so a failed round is only logged). Returns the stop.
 */
export function prunePeriodically({ what, prune, logger, everyMs = 3600_000 }: PrunePeriodicallyOptions): () => void {
  const timer = setInterval(() => {
    prune().then(
      (pruned) => pruned > 0 && logger.info({ pruned, table: what }, 'expired rows pruned'),
      (error: unknown) => logger.warn({ err: error, table: what }, 'expired rows not pruned'),
    );
  }, everyMs).unref();
  return () => clearInterval(timer);
}
