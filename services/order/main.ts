/**
 * The order service: the HTTP API that accepts orders (transactional outbox → order.created), the
 * outbox relay, and the consumer (group order-service) that moves orders along the saga.
 *   node --import tsx services/order/main.ts
 */
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
import { BackgroundConsumer } from './background-consumer.js';
import { Catalogue } from './catalogue.js';
import { loadServiceConfig } from './config.js';
import { OUTBOX_TABLE } from './orders.js';
import { registerOrderRoutes } from './routes.js';
import { OrderSaga } from './saga.js';

await runService('order', async ({ logger, shutdown }) => {
  const config = loadServiceConfig();

  const pool = createPool(config.databaseUrl, logger, { max: config.databasePoolSize });
  shutdown.add('database pool', () => pool.end());
  await applySchema(pool, consumerRuntimeSql);
  await applySchema(pool, new URL('./schema.sql', import.meta.url));
  await createOutboxTable(pool, OUTBOX_TABLE);

  const kafka = createKafka(config, logger, 'order');
  const serde = AvroSerde.connect(config.schemaRegistryUrl);

  const relay = new OutboxRelay({ pool, kafka, serde, logger, table: OUTBOX_TABLE, topics: topicLookup(topology), pollIntervalMs: config.outboxPollMs });
  relay.start();
  shutdown.add('outbox relay', () => relay.stop());

  const saga = new OrderSaga(pool);
  const runtime = new ConsumerRuntime({
    kafka,
    serde,
    logger,
    group: consumerGroups.orderService,
    pool,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
  })
    .on(topics.inventoryReserved, saga.onReserved)
    .on(topics.inventoryRejected, saga.onRejected)
    .on(topics.inventoryReleased, saga.onReleased)
    .on(topics.orderSteps, saga.onStep);
  const consumer = new BackgroundConsumer(runtime, logger);
  consumer.start();
  shutdown.add('saga consumer', () => consumer.stop());

  const app = createHttpServer({
    logger,
    bodyLimit: config.bodyLimitBytes,
    ready: async () =>
      consumer.isReady() &&
      relay.isConnected() &&
      (await pool.query('SELECT 1').then(
        () => true,
        () => false,
      )),
  });
  registerOrderRoutes(app, {
    pool,
    catalogue: new Catalogue(pool, config.catalogueCacheMs),
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    onOutboxWrite: () => relay.wake(),
  });
  await app.listen({ host: config.host, port: config.port });
  // Registered last, so it closes first: no new orders while the rest winds down.
  shutdown.add('http server', () => app.close());
  logger.info({ url: `http://${config.host}:${config.port}` }, 'order API listening');
});
