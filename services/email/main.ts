/**
 * The email service (group email-service): one order confirmation per order.created, and one
 * follow-up per order.follow-ups (published by the scheduler), one "payment failed" mail per
 * order.payment-failed (the order workflow's), through SMTP.
 *   node dist/services/email/main.js (after npm run build; npm start runs the source)
 */
import { consumerGroups, topics, topology } from '../../shared/contracts/topics.js';
import { runConsumerService } from '../../shared/kit/consumer-service.js';
import { loadServiceConfig } from './config.js';
import { followUpHandler, followUpSql } from './follow-up.js';
import { EmailHandlers } from './handlers.js';
import { Mailer } from './mailer.js';
import { paymentFailedHandler, paymentFailedSql } from './payment-failed.js';

await runConsumerService('email', consumerGroups.email, {
  config: loadServiceConfig,
  database: { sql: [new URL('./schema.sql', import.meta.url), followUpSql, paymentFailedSql], outbox: { table: 'email_outbox', topology } },
  consume: (runtime, service) => {
    const mailer = new Mailer(service.config.smtpUrl, service.config.mailFrom);
    service.shutdown.add('smtp', async () => mailer.close());
    runtime
      .on(topics.orderCreated, new EmailHandlers(service, mailer).onOrderCreated)
      .on(topics.orderFollowUps, followUpHandler(service, mailer))
      .on(topics.orderPaymentFailed, paymentFailedHandler(service, mailer));
  },
});
