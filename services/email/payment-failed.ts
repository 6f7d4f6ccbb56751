import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { OrderPaymentFailed } from '../../shared/contracts/schemas.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { metrics } from '../../shared/metrics.js';
import type { Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { oneMailPerOrder } from './one-mail-per-order.js';

export const paymentFailedSql = new URL('./payment-failed.sql', import.meta.url);

const paymentFailedMails = new Counter({
  name: 'email_payment_failed_total',
  help: '"Payment failed" mails: sent, or already-sent (another event for an order told before)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

const reasons: Record<string, string> = {
  payment_declined: 'your card was declined',
  payment_timeout: 'the payment could not be completed in time',
};

/** The mail telling the customer the payment failed; one Message-ID per order. */
export function paymentFailedFor(failure: OrderPaymentFailed): Confirmation {
  return {
    to: failure.email,
    subject: `Payment failed for order ${failure.orderId}`,
    text: [
      `We could not take the payment for order ${failure.orderId}: ${reasons[failure.reason] ?? 'the payment failed'}.`,
      '',
      'Nothing was charged. You can place the order again with another card.',
    ].join('\n'),
    messageId: `<payment-failed-${failure.orderId}@order-pipeline.local>`,
  };
}

/** One "payment failed" mail per order when the workflow rejects it for its payment (oneMailPerOrder). */
export function paymentFailedHandler(effects: Effects, mailer: Mailer): (event: InboundEvent<OrderPaymentFailed>) => Promise<void> {
  return oneMailPerOrder(effects, mailer, {
    mail: 'payment-failed',
    what: 'payment failed mail',
    table: 'email_payment_failures',
    step: 'payment-failed-mail',
    counter: paymentFailedMails,
    mailFor: paymentFailedFor,
  });
}
