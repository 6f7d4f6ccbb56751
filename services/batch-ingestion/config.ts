import { consumerVariables, databaseVariables, flag, loadConfig, positiveInt, variable } from '../../shared/config.js';
import { serviceVariables } from '../../shared/kit/variables.js';

const MiB = 1024 * 1024;

export const configSpec = {
  ...serviceVariables,
  ...databaseVariables,
  /** A batch is flushed at this many rows, ... */
  batchMaxRows: variable('BATCH_MAX_ROWS', positiveInt.default(50_000)),
  /** ... at this many COPY bytes, ... */
  batchMaxBytes: variable('BATCH_MAX_BYTES', positiveInt.default(16 * MiB)),
  /** ... or when its oldest row has waited this long, whichever comes first. */
  batchMaxWaitMs: variable('BATCH_MAX_WAIT_MS', positiveInt.default(250)),
  /** Flush as soon as a fetch's batches are all in (nothing more can come before it commits). */
  batchFlushWhenIdle: variable('BATCH_FLUSH_WHEN_IDLE', flag.default(true)),
  batchMaxConcurrentFlushes: variable('BATCH_MAX_CONCURRENT_FLUSHES', positiveInt.default(2)),
  /**
   * Events fetched but not yet committed: fetching goes on while a flush is in flight (a fetch is
   * about 40,000 events here), then waits for it. Bounds memory and what a crash makes come again;
   * 120,000 measured no faster.
   */
  batchMaxUncommittedEvents: variable('BATCH_MAX_UNCOMMITTED_EVENTS', positiveInt.default(50_000)),
  /** Server-side bound on each write statement; past it the write counts as an outage and is retried. */
  dbStatementTimeoutMs: variable('DB_STATEMENT_TIMEOUT_MS', positiveInt.default(60_000)),
  dbConnectTimeoutMs: variable('DB_CONNECT_TIMEOUT_MS', positiveInt.default(5_000)),
  /** Backoff while the store is unavailable: doubles from the initial delay up to the maximum. */
  storeBackoffInitialMs: variable('STORE_BACKOFF_INITIAL_MS', positiveInt.default(200)),
  storeBackoffMaxMs: variable('STORE_BACKOFF_MAX_MS', positiveInt.default(5_000)),
  /**
   * A fetch's size bounds a flush (kafkajs fetches again only once the flush has committed). The
   * kafkajs defaults (1 MiB a partition, 10 MiB in all: about 38,000 events) measured best here:
   * larger fetches keep more events alive per flush and cost more in garbage collection than the
   * fewer transactions save.
   */
  fetchMaxBytesPerPartition: variable('KAFKA_FETCH_MAX_BYTES_PER_PARTITION', positiveInt.default(MiB)),
  fetchMaxBytes: variable('KAFKA_FETCH_MAX_BYTES', positiveInt.default(10 * MiB)),
  // Not PARTITIONS_CONCURRENTLY: the member reads every partition of its group at once (main.ts).
  sessionTimeoutMs: consumerVariables.sessionTimeoutMs,
};

export type ServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
