import { z } from 'zod';
import { databaseVariables, kafkaVariables, loadConfig, port, positiveInt, registryVariables, variable } from '../../shared/config.js';

export const configSpec = {
  ...kafkaVariables,
  ...registryVariables,
  ...databaseVariables,
  host: variable('HOST', z.string().min(1).default('127.0.0.1')),
  port: variable('PORT', port.default(3000)),
  /** Larger request bodies get 413; 16 KiB holds an order of 100 lines with room to spare. */
  bodyLimitBytes: variable('BODY_LIMIT_BYTES', positiveInt.default(16 * 1024)),
  /** The relay's safety-net poll; new orders wake it at once. */
  outboxPollMs: variable('OUTBOX_POLL_MS', positiveInt.default(1000)),
  databasePoolSize: variable('DATABASE_POOL_SIZE', positiveInt.default(10)),
  /** Partitions the saga consumer handles at once (each event locks only its own order's row). */
  partitionsConcurrently: variable('PARTITIONS_CONCURRENTLY', positiveInt.default(3)),
  /** How long a currency's price list is reused; 0 reads the catalogue for every order. */
  catalogueCacheMs: variable('CATALOGUE_CACHE_MS', z.coerce.number({ error: 'expected milliseconds' }).int().min(0).default(5000)),
};

export type OrderServiceConfig = ReturnType<typeof loadServiceConfig>;

export function loadServiceConfig(source: Record<string, string | undefined> = process.env) {
  return loadConfig(configSpec, source);
}
