/**
 * The inventory service (group inventory-service): reserves stock for each order.created, all or
 * nothing, answers with inventory.reserved / inventory.rejected, and releases stock on order.cancelled.
 *   node --import tsx services/inventory/main.ts
 */
import type { AddressInfo } from 'node:net';
import { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import { consumerRuntimeSql } from '../../shared/consumer/processed-events.js';
import { applySchema, createPool } from '../../shared/db.js';
import { createHttpServer } from '../../shared/http.js';
import { createKafka } from '../../shared/kafka/client.js';
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { topicLookup } from '../../shared/kafka/topology.js';
import { createOutboxTable } from '../../shared/outbox/outbox.js';
import { OutboxRelay } from '../../shared/outbox/relay.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';
import { loadServiceConfig } from './config.js';
import { InventoryHandlers, OUTBOX_TABLE } from './handlers.js';
import { registerStockRoutes } from './routes.js';

await runService('inventory', async ({ logger, shutdown }) => {
  const config = loadServiceConfig();

  const pool = createPool(config.databaseUrl, logger);
  shutdown.add('database pool', () => pool.end());
  await applySchema(pool, consumerRuntimeSql);
  await applySchema(pool, new URL('./schema.sql', import.meta.url));
  await createOutboxTable(pool, OUTBOX_TABLE);

  const kafka = createKafka(config, logger, 'inventory');
  const serde = AvroSerde.connect(config.schemaRegistryUrl);

  const relay = new OutboxRelay({ pool, kafka, serde, logger, table: OUTBOX_TABLE, topics: topicLookup(topology), pollIntervalMs: config.outboxPollMs });
  relay.start();
  shutdown.add('outbox relay', () => relay.stop());

  const handlers = new InventoryHandlers(pool, () => relay.wake());
  const runtime = new ConsumerRuntime({
    kafka,
    serde,
    logger,
    group: consumerGroups.inventory,
    pool,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
    sessionTimeoutMs: config.sessionTimeoutMs,
  })
    .on(topics.orderCreated, handlers.onOrderCreated)
    .on(topics.orderCancelled, handlers.onOrderCancelled);
  await runtime.start();
  shutdown.add('consumer', () => runtime.stop());

  const app = createHttpServer({ logger, ready: () => runtime.isReady() && relay.isConnected() });
  registerStockRoutes(app, pool);
  await app.listen({ host: config.host, port: config.httpPort });
  shutdown.add('http server', () => app.close());
  const { port } = app.server.address() as AddressInfo;
  logger.info({ url: `http://${config.host}:${port}` }, 'inventory HTTP listening');
});
