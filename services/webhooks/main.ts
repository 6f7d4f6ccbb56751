/**
 * The webhooks service (group webhooks-service): turns order status changes and finished exports into signed Standard
 * Webhooks deliveries to the endpoints clients registered, retried on the platform scheduler.
 *   node dist/services/webhooks/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { schedulerSql } from '../../shared/scheduler/jobs.js';
import { loadServiceConfig } from './config.js';
import { Deliverer } from './deliverer.js';
import { Deliveries } from './deliveries.js';
import { Endpoints } from './endpoints.js';
import { WebhookHandlers } from './handlers.js';
import { registerWebhookRoutes } from './routes.js';
import { clientApi } from '../../shared/clients/client-api.js';
import { clientsSql } from '../../shared/clients/client-store.js';
import { Sender } from './sender.js';
import { prunePeriodically } from '../../shared/prune-periodically.js';

/** What an attempt may take beyond its timeout (recording it) before its lease lets another start. */
const LEASE_MARGIN_MS = 5000;

let parts: { deliveries: Deliveries; deliverer: Deliverer } | undefined;

await runConsumerService('webhooks', consumerGroups.webhooks, {
  config: loadServiceConfig,
  // The scheduler's jobs table: retries are jobs written in the deliveries' own transactions.
  database: { sql: [clientsSql, new URL('./schema.sql', import.meta.url), schedulerSql] },
  consume: (runtime, { config, pool, logger, shutdown }) => {
    const deliveries = new Deliveries(pool, {
      policy: { scheduleMs: config.retrySchedule, retryAfterCapMs: config.retryAfterCapMs },
      leaseMs: config.timeoutMs + LEASE_MARGIN_MS,
      disableAfterMs: config.disableAfterMs,
    });
    const sender = new Sender({ timeoutMs: config.timeoutMs, allowedNetworks: config.allowedNetworks });
    const deliverer = new Deliverer({ deliveries, sender, logger, perEndpoint: config.perEndpointConcurrency, total: config.concurrency });
    // Attempts in flight are abandoned and recorded (retried on schedule) before the pool closes.
    shutdown.add('deliverer', () => deliverer.stop(), 3000);
    parts = { deliveries, deliverer };
    const stopPruning = prunePeriodically({ what: 'webhook_deliveries', prune: () => deliveries.prune(config.retentionMs), logger });
    shutdown.add('pruning', async () => stopPruning(), 100);
    const handlers = new WebhookHandlers(deliveries, deliverer);
    runtime
      .on(topics.orderStatusChanged, handlers.onOrderStatusChanged)
      .on(topics.exportCompleted, handlers.onExportCompleted)
      .on(topics.webhookDeliveriesDue, handlers.onDeliveryDue);
  },
  routes: (app, { config, pool, logger }) => {
    if (!parts) return;
    const deliveryParts = parts;
    clientApi(app, { pool, logger, ...config }, (api) =>
      registerWebhookRoutes(api, { endpoints: new Endpoints(pool), ...deliveryParts, allowedNetworks: config.allowedNetworks }),
    );
  },
  ready: ({ pool }) =>
    pool.query('SELECT 1').then(
      () => true,
      () => false,
    ),
});
