import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { OrderFollowUp } from '../../shared/contracts/schemas.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { metrics } from '../../shared/metrics.js';
import type { Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { oneMailPerOrder } from './one-mail-per-order.js';

export const followUpSql = new URL('./follow-up.sql', import.meta.url);

const followUps = new Counter({
  name: 'email_follow_ups_total',
  help: 'Order follow-up mails: sent, or already-sent (another event for an order followed up before)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

/** The follow-up mail; one Message-ID per order, like the confirmation. */
export function followUpFor(followUp: OrderFollowUp): Confirmation {
  return {
    to: followUp.email,
    subject: `How was your order ${followUp.orderId}?`,
    text: [`How was your order ${followUp.orderId}?`, '', 'Reply to this mail to tell us; we read every answer.'].join('\n'),
    messageId: `<follow-up-${followUp.orderId}@order-pipeline.local>`,
  };
}

/**
 * Sends one follow-up per order when the scheduler publishes it (a confirmed order, not cancelled
 * since), once whatever is redelivered (oneMailPerOrder).
 */
export function followUpHandler(effects: Effects, mailer: Mailer): (event: InboundEvent<OrderFollowUp>) => Promise<void> {
  return oneMailPerOrder(effects, mailer, {
    mail: 'follow-up',
    what: 'order follow-up',
    table: 'email_follow_ups',
    step: 'follow-up',
    counter: followUps,
    mailFor: followUpFor,
  });
}
