/**
 * The order service: the HTTP API that accepts orders (transactional outbox → order.created), the
 * outbox relay, and the consumer (group order-service) that moves orders along the saga.
 *   node dist/services/order/main.js (after npm run build; npm start runs the source)
 */
import { prunePeriodically } from '../../shared/prune-periodically.js';
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { schedulerSql } from '../../shared/scheduler/jobs.js';
import { requestReplySql } from '../../shared/request-reply/index.js';
import { clientApi } from '../../shared/clients/client-api.js';
import { adminApi } from '../../shared/clients/admin-api.js';
import { registerClientAdminRoutes } from '../../shared/clients/client-admin-routes.js';
import { ClientStore, clientsSql } from '../../shared/clients/client-store.js';
import { startAvailabilityRequester } from './availability-requester.js';
import { registerAvailabilityRoutes } from './availability.js';
import { Catalogue } from './catalogue.js';
import { loadServiceConfig } from './config.js';
import { orderIdempotencyKeys } from './orders.js';
import { registerOrderRoutes } from './routes.js';
import { OrderSaga } from './saga.js';

// Started with the consumer (its closer then comes out of the consumer's share of the shutdown bound), served by the routes.
let availability: ReturnType<typeof startAvailabilityRequester> | undefined;

await runConsumerService('order', consumerGroups.orderService, {
  config: loadServiceConfig,
  database: (config) => ({
    // The scheduler's jobs table: timeouts and follow-ups are scheduled in the order's own transactions.
    sql: [clientsSql, new URL('./schema.sql', import.meta.url), schedulerSql, requestReplySql],
    outbox: { table: 'order_outbox', topology },
    pool: { max: config.databasePoolSize },
  }),
  // The API takes orders (into its outbox) while Kafka is down; the saga consumer joins when it can.
  background: true,
  consume: (runtime, service) => {
    const { handleOnce, outbox, config } = service;
    availability = startAvailabilityRequester(service);
    const saga = new OrderSaga(handleOnce, outbox, { pendingTimeoutMs: config.orderPendingTimeoutMs, followUpDelayMs: config.followUpDelayMs });
    runtime
      .on(topics.inventoryReserved, saga.onReserved)
      .on(topics.inventoryRejected, saga.onRejected)
      .on(topics.inventoryReleased, saga.onReleased)
      .on(topics.orderSteps, saga.onStep)
      .on(topics.orderTimeouts, saga.onTimeout);
  },
  bodyLimit: (config) => config.bodyLimitBytes,
  routes: (app, service) => {
    const { config, pool, outbox, logger } = service;
    const stopPruning = prunePeriodically({ what: 'order_idempotency_keys', prune: () => orderIdempotencyKeys.prune(pool), logger });
    app.addHook('onClose', async () => stopPruning());
    clientApi(app, { pool, logger, ...config }, (api) => {
      registerOrderRoutes(api, {
        pool,
        outbox,
        logger,
        catalogue: new Catalogue(pool, config.catalogueCacheMs),
        bodyLimitBytes: config.bodyLimitBytes,
        pendingTimeoutMs: config.orderPendingTimeoutMs,
      });
      if (availability) registerAvailabilityRoutes(api, { ...availability, logger, maxTimeoutMs: config.requestMaxTimeoutMs });
    });
    adminApi(app, config, (admin) => registerClientAdminRoutes(admin, new ClientStore(pool), logger));
  },
  ready: ({ pool }) =>
    pool.query('SELECT 1').then(
      () => true,
      () => false,
    ),
});
