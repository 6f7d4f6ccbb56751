/**
 * The order service: the HTTP API that accepts orders (transactional outbox → order.created), the
 * outbox relay, and the consumer (group order-service) that runs the order workflow (workflow-table.ts).
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
import { loadServiceConfig, type OrderServiceConfig } from './config.js';
import type { HandleOnce } from '../../shared/kit/handle-once.js';
import type { Outbox } from '../../shared/outbox/outbox.js';
import { orderIdempotencyKeys } from './orders.js';
import { registerOrderRoutes } from './routes.js';
import { OrderWorkflow } from './workflow.js';

// Started with the consumer (its closer then comes out of the consumer's share of the shutdown bound), served by the routes.
let availability: ReturnType<typeof startAvailabilityRequester> | undefined;

const workflowOf = (service: { handleOnce: HandleOnce; outbox: Outbox; config: OrderServiceConfig }) =>
  new OrderWorkflow(service.handleOnce, service.outbox, {
    authorizationTimeoutMs: service.config.paymentAuthorizationTimeoutMs,
    authorizationAttempts: service.config.paymentAuthorizationAttempts,
    reservationTimeoutMs: service.config.reservationTimeoutMs,
    paymentStepTimeoutMs: service.config.paymentStepTimeoutMs,
    followUpDelayMs: service.config.followUpDelayMs,
  }, new Set(service.config.crashAfterTransition));

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
    availability = startAvailabilityRequester(service);
    const workflow = workflowOf(service);
    runtime
      .on(topics.paymentOutcomes, workflow.onPaymentOutcome)
      .on(topics.inventoryReserved, workflow.onReserved)
      .on(topics.inventoryRejected, workflow.onRejected)
      .on(topics.inventoryReleased, workflow.onReleased)
      .on(topics.orderSteps, workflow.onStep)
      .on(topics.orderTimeouts, workflow.onTimeout);
  },
  bodyLimit: (config) => config.bodyLimitBytes,
  routes: (app, service) => {
    const { config, pool, outbox, logger, handleOnce } = service;
    const stopPruning = prunePeriodically({ what: 'order_idempotency_keys', prune: () => orderIdempotencyKeys.prune(pool), logger });
    app.addHook('onClose', async () => stopPruning());
    clientApi(app, { pool, logger, ...config }, (api) => {
      registerOrderRoutes(api, {
        pool,
        outbox,
        logger,
        catalogue: new Catalogue(pool, config.catalogueCacheMs),
        bodyLimitBytes: config.bodyLimitBytes,
        workflow: workflowOf({ handleOnce, outbox, config }),
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
