/**
 * The synchronous variant of placing an order, for `npm run bench:api` only (production never starts
 * it): the article's "request → DB write → send email → … → response". The order service's own
 * POST /orders (API keys, validation, catalogue, the order's transaction) runs unchanged; before its
 * 202 goes out, the work the consumer groups do afterwards in the pipeline is done inline with the
 * services' own code: inventory's reservation (and the order CONFIRMED), the email service's Mailer
 * and confirmation over SMTP, and the order's analytics rows written with batch-ingestion's store.
 * The order's outbox is a table of this server's own that no relay reads, so none of these orders
 * reaches the pipeline.
 *   env: DATABASE_URL, SMTP_URL, DEMO_API_KEY, HTTP_PORT (default 0: any free port)
 * Prints `{"port":N}` once listening.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { databaseVariables, loadConfig, port, smtpVariables, variable } from '../shared/config.js';
import { clientApiVariables } from '../shared/clients/variables.js';
import { clientApi } from '../shared/clients/client-api.js';
import type { OrderCreated } from '../shared/contracts/schemas.js';
import { applySchema, createPool, withTransaction } from '../shared/db.js';
import { createHttpServer } from '../shared/http.js';
import { createLogger } from '../shared/logger.js';
import { Outbox } from '../shared/outbox/outbox.js';
import { analyticsEventsFor } from '../services/analytics/events.js';
import { encodeBlock, toLine } from '../services/batch-ingestion/rows.js';
import { AnalyticsStore, schemaSql as analyticsSchema } from '../services/batch-ingestion/store.js';
import { confirmationFor } from '../services/email/confirmation.js';
import { Mailer } from '../services/email/mailer.js';
import { reserve } from '../services/inventory/stock.js';
import { Catalogue } from '../services/order/catalogue.js';
import { findOrder } from '../services/order/orders.js';
import { registerOrderRoutes } from '../services/order/routes.js';
import { orderJobs } from '../services/order/timers.js';
import { OrderWorkflow } from '../services/order/workflow.js';
import type { HandleOnce } from '../shared/kit/handle-once.js';
import type { CreateOrderRequest } from '../services/order/validation.js';

const config = loadConfig({
  ...databaseVariables,
  ...smtpVariables,
  ...clientApiVariables,
  httpPort: variable('HTTP_PORT', port.default(0)),
});
const logger = createLogger('bench-sync-order');
const pool = createPool(config.databaseUrl, logger, { max: 10 });
await applySchema(pool, analyticsSchema);
const outbox = new Outbox(pool, 'bench_sync_order_outbox');
await outbox.create();
const mailer = new Mailer(config.smtpUrl, 'Order Pipeline <orders@order-pipeline.local>');
const store = new AnalyticsStore(pool, { statementTimeoutMs: 30_000 });
// POST /orders starts each order's workflow in its transaction; here the order is decided inline
// before the answer (no payment: the article's synchronous chain), so the workflow consumes nothing.
const consumesNothing: HandleOnce = () => Promise.reject(new Error('the sync variant consumes no events'));
const workflow = new OrderWorkflow(consumesNothing, outbox, {
  authorizationTimeoutMs: 30_000,
  authorizationAttempts: 1,
  reservationTimeoutMs: 5 * 60_000,
  paymentStepTimeoutMs: 30_000,
  followUpDelayMs: 24 * 3600_000,
});

/** What the pipeline does after the 202, done before it: the order is CONFIRMED (or REJECTED), mailed and counted. */
async function completeInline(clientId: string, orderId: string, body: CreateOrderRequest): Promise<'CONFIRMED' | 'REJECTED'> {
  const view = await findOrder(pool, clientId, orderId);
  if (!view) throw new Error(`order ${orderId} was not written`);
  const order: OrderCreated = {
    eventId: randomUUID(),
    orderId,
    clientId,
    customerId: body.customerId,
    email: body.email,
    items: view.items,
    totalCents: view.totalCents,
    currency: view.currency,
    createdAt: Date.parse(view.createdAt),
  };
  const status = await withTransaction(pool, async (client) => {
    const outcome = await reserve(client, orderId, order.eventId, order.items);
    const to = outcome.kind === 'reserved' ? 'CONFIRMED' : 'REJECTED';
    await client.query('UPDATE orders SET status = $2, updated_at = now() WHERE id = $1', [orderId, to]);
    await orderJobs.cancelStepTimeout(client, orderId);
    return to;
  });
  await mailer.send(confirmationFor(order));
  const events = analyticsEventsFor(order, order.eventId);
  await store.write([encodeBlock(events.map(toLine)).buffer], events.length);
  return status;
}

const app = createHttpServer({ logger, ready: () => true, bodyLimit: 16 * 1024 });
// Before the 202 of a new order is serialised: the request waits for the whole inline chain.
app.addHook('preSerialization', async (request, reply, payload) => {
  if (request.method !== 'POST' || reply.statusCode !== 202 || reply.getHeader('Idempotent-Replayed')) return payload;
  const accepted = payload as { orderId: string; status: string };
  const status = await completeInline(request.clientId, accepted.orderId, request.body as CreateOrderRequest);
  return { ...accepted, status };
});
clientApi(app, { pool, logger, ...config }, (api) => {
  registerOrderRoutes(api, {
    pool,
    outbox,
    logger,
    catalogue: new Catalogue(pool, 5000),
    bodyLimitBytes: 16 * 1024,
    workflow,
  });
});
await app.listen({ host: '127.0.0.1', port: config.httpPort });
console.log(JSON.stringify({ port: (app.server.address() as AddressInfo).port }));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(async () => {
      mailer.close();
      await pool.end();
      process.exit(0);
    });
  });
}
