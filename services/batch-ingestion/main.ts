/** services/batch-ingestion: analytics.events → micro-batched bulk writes into PostgreSQL. */
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { retryPolicyOf } from '../../shared/kafka/topology.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { MicroBatcher } from './batcher.js';
import { loadServiceConfig } from './config.js';
import { AnalyticsStore, schemaSql } from './store.js';

const group = consumerGroups.batchIngestion;
const policy = retryPolicyOf(group);

await runConsumerService('batch-ingestion', group, {
  config: loadServiceConfig,
  database: (config) => ({
    sql: [schemaSql],
    // No processed-event claims: rows are deduplicated by their event id in the store itself.
    consumerRuntime: false,
    pool: {
      max: config.batchMaxConcurrentFlushes + 1,
      connectionTimeoutMillis: config.dbConnectTimeoutMs,
      // A peer that vanishes without closing the socket is noticed by TCP, not only by the timeout.
      keepAlive: true,
      idleTimeoutMillis: 60_000,
    },
    warmConnections: config.batchMaxConcurrentFlushes,
  }),
  runtime: (config) => ({
    // Every partition of the source and of its retry tiers at once: the batcher gathers them all
    // into one flush, and no partition's batch waits behind another's.
    partitionsConsumedConcurrently: group.topics.reduce((sum, topic) => sum + topic.partitions * policy.attempts, 0),
    maxBytesPerPartition: config.fetchMaxBytesPerPartition,
    maxBytes: config.fetchMaxBytes,
    maxUncommittedEvents: config.batchMaxUncommittedEvents,
    // A call may wait for the flushes ahead of it and then its own, each bounded by the statement
    // timeout; waits for an unavailable store heartbeat, which extends the deadline.
    handlerTimeoutMs: 3 * config.dbStatementTimeoutMs,
  }),
  consume: (runtime, { config, pool, logger, shutdown }) => {
    const store = new AnalyticsStore(pool, { statementTimeoutMs: config.dbStatementTimeoutMs });
    const batcher = new MicroBatcher(
      store,
      {
        maxRows: config.batchMaxRows,
        maxBytes: config.batchMaxBytes,
        maxWaitMs: config.batchMaxWaitMs,
        flushWhenIdle: config.batchFlushWhenIdle,
        maxConcurrentFlushes: config.batchMaxConcurrentFlushes,
        backoff: { initialMs: config.storeBackoffInitialMs, maxMs: config.storeBackoffMaxMs },
        maxAttempts: policy.attempts,
      },
      logger,
    );
    shutdown.add('batcher', async () => batcher.close());
    runtime.onBatch(topics.analyticsEvents, (events, context) => batcher.submit(events, context));
  },
});
