/** services/batch-ingestion: analytics.events → micro-batched bulk writes into PostgreSQL. */
import { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import { applySchema, createPool } from '../../shared/db.js';
import { createHttpServer } from '../../shared/http.js';
import { createKafka } from '../../shared/kafka/client.js';
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { retryPolicyOf } from '../../shared/kafka/topology.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';
import { MicroBatcher } from './batcher.js';
import { loadServiceConfig } from './config.js';
import { AnalyticsStore, schemaSql } from './store.js';

await runService('batch-ingestion', async ({ logger, shutdown }) => {
  const config = loadServiceConfig();
  const group = consumerGroups.batchIngestion;
  const policy = retryPolicyOf(group);

  const pool = createPool(config.databaseUrl, logger, {
    max: config.batchMaxConcurrentFlushes + 1,
    connectionTimeoutMillis: config.dbConnectTimeoutMs,
    // A peer that vanishes without closing the socket is noticed by TCP, not only by the timeout.
    keepAlive: true,
    idleTimeoutMillis: 60_000,
  });
  shutdown.add('database pool', () => pool.end());
  await applySchema(pool, schemaSql);
  // Connections made now, not in the first flushes (password authentication takes a while).
  const warm = await Promise.all(Array.from({ length: config.batchMaxConcurrentFlushes }, () => pool.connect()));
  for (const client of warm) client.release();

  const batcher = new MicroBatcher(
    new AnalyticsStore(pool, { statementTimeoutMs: config.dbStatementTimeoutMs }),
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

  const runtime = new ConsumerRuntime({
    kafka: createKafka(config, logger, 'batch-ingestion'),
    serde: AvroSerde.connect(config.schemaRegistryUrl),
    logger,
    group,
    // Every partition of the source and of its retry tiers at once: the batcher gathers them all
    // into one flush, and no partition's batch waits behind another's.
    partitionsConsumedConcurrently: group.topics.reduce((sum, topic) => sum + topic.partitions * policy.attempts, 0),
    sessionTimeoutMs: config.sessionTimeoutMs,
    maxBytesPerPartition: config.fetchMaxBytesPerPartition,
    maxBytes: config.fetchMaxBytes,
    maxUncommittedEvents: config.batchMaxUncommittedEvents,
  });
  runtime.onBatch(topics.analyticsEvents, (events, context) => batcher.submit(events, context));

  const http = createHttpServer({ logger, ready: () => runtime.isReady() });
  await http.listen({ host: config.host, port: config.httpPort });
  shutdown.add('http', () => http.close());
  logger.info({ address: http.addresses()[0] }, 'http listening');

  await runtime.start();
  shutdown.add('consumer', () => runtime.stop());
});
