/**
 * The analytics service (group analytics-service): turns each order.created into analytics events
 * (ORDER_PLACED, LINE_ITEM per line, REVENUE) on analytics.events.
 *   node --import tsx services/analytics/main.ts
 */
import type { AddressInfo } from 'node:net';
import { ConsumerRuntime } from '../../shared/consumer/consumer-runtime.js';
import { createHttpServer } from '../../shared/http.js';
import { createIdempotentProducer, createKafka } from '../../shared/kafka/client.js';
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { AvroSerde } from '../../shared/registry/serde.js';
import { runService } from '../../shared/service.js';
import { loadServiceConfig } from './config.js';
import { AnalyticsPublisher } from './publisher.js';

await runService('analytics', async ({ logger, shutdown }) => {
  const config = loadServiceConfig();
  const kafka = createKafka(config, logger, 'analytics');
  const serde = AvroSerde.connect(config.schemaRegistryUrl);

  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  shutdown.add('producer', () => producer.disconnect());

  const publisher = new AnalyticsPublisher(producer, serde);
  const runtime = new ConsumerRuntime({
    kafka,
    serde,
    logger,
    group: consumerGroups.analytics,
    partitionsConsumedConcurrently: config.partitionsConcurrently,
    sessionTimeoutMs: config.sessionTimeoutMs,
  }).onBatch(topics.orderCreated, publisher.handleBatch);
  await runtime.start();
  shutdown.add('consumer', () => runtime.stop());

  const app = createHttpServer({ logger, ready: () => runtime.isReady() });
  await app.listen({ host: config.host, port: config.httpPort });
  shutdown.add('http server', () => app.close());
  const { port } = app.server.address() as AddressInfo;
  logger.info({ url: `http://${config.host}:${port}` }, 'analytics HTTP listening');
});
