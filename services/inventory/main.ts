/**
 * The inventory service (group inventory-service): reserves stock for each order.created, all or
 * nothing, answers with inventory.reserved / inventory.rejected, and releases stock on order.cancelled.
 *   node dist/services/inventory/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { loadServiceConfig } from './config.js';
import { InventoryHandlers } from './handlers.js';
import { registerStockRoutes } from './routes.js';

await runConsumerService('inventory', consumerGroups.inventory, {
  config: loadServiceConfig,
  database: { sql: [new URL('./schema.sql', import.meta.url)], outbox: { table: 'inventory_outbox', topology } },
  consume: (runtime, service) => {
    const handlers = new InventoryHandlers(service);
    runtime.on(topics.orderCreated, handlers.onOrderCreated).on(topics.orderCancelled, handlers.onOrderCancelled);
  },
  routes: (app, { pool }) => registerStockRoutes(app, pool),
});
