/**
 * The analytics service (group analytics-service): turns each order.created into analytics events
 * (ORDER_PLACED, LINE_ITEM per line, REVENUE) on analytics.events.
 *   node dist/services/analytics/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { loadServiceConfig } from './config.js';
import { AnalyticsPublisher } from './publisher.js';

await runConsumerService('analytics', consumerGroups.analytics, {
  config: loadServiceConfig,
  consume: async (runtime, { kafka, serde, shutdown }) => {
    const producer = kafka.publisher();
    await producer.connect();
    shutdown.add('producer', () => producer.disconnect());
    runtime.onBatch(topics.orderCreated, new AnalyticsPublisher(producer, serde).handleBatch);
  },
});
