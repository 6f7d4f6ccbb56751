/**
 * The inventory service (group inventory-service): reserves stock for each inventory.reserve-requested
 * (the order workflow's, once the payment is authorized), all or
 * nothing, answers with inventory.reserved / inventory.rejected, and releases stock on order.cancelled;
 * in group inventory-availability it answers the order API's availability requests (request-reply).
 *   node dist/services/inventory/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { requestReplySql } from '../../shared/request-reply/index.js';
import { startAvailabilityReplier } from './availability.js';
import { loadServiceConfig } from './config.js';
import { InventoryHandlers } from './handlers.js';
import { registerStockRoutes } from './routes.js';

await runConsumerService('inventory', consumerGroups.inventory, {
  config: loadServiceConfig,
  database: { sql: [new URL('./schema.sql', import.meta.url), requestReplySql], outbox: { table: 'inventory_outbox', topology } },
  consume: (runtime, service) => {
    const handlers = new InventoryHandlers(service);
    runtime.on(topics.inventoryReserveRequested, handlers.onReserveRequested).on(topics.orderCancelled, handlers.onOrderCancelled);
    // Request-reply: availability questions of the order API, in a group of their own.
    startAvailabilityReplier(service);
  },
  routes: (app, { pool }) => registerStockRoutes(app, pool),
});
