/**
 * The payments service (group payments-service): carries out the order workflow's payment commands
 * (authorize, capture, void, refund) at the payment provider over HTTP, and publishes each answer on
 * payment.outcomes through its outbox.
 *   node dist/services/payments/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { loadServiceConfig } from './config.js';
import { PaymentHandlers } from './handlers.js';
import { PaymentProviderClient } from './provider-client.js';

await runConsumerService('payments', consumerGroups.payments, {
  config: loadServiceConfig,
  database: { sql: [new URL('./schema.sql', import.meta.url)], outbox: { table: 'payments_outbox', topology } },
  consume: (runtime, service) => {
    const { config } = service;
    const provider = new PaymentProviderClient(config.paymentProviderUrl, config.paymentProviderTimeoutMs);
    const crashWindow = { afterProviderCall: new Set(config.crashAfterProviderCall) };
    runtime.on(topics.paymentCommands, new PaymentHandlers(service, provider, crashWindow).onCommand);
  },
});
