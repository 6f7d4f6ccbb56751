import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { OrderPaymentFailed } from '../../shared/contracts/schemas.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { appendSentStep } from './sent-step.js';
import { UnrecordedMails } from './unrecorded-mails.js';

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

/**
 * One "payment failed" mail per order when the workflow rejects it for its payment. The same shape
 * as the follow-up (follow-up.ts): claim, send record and order.steps report in one transaction
 * around the SMTP send.
 */
export class PaymentFailedHandlers {
  private readonly unrecorded = new UnrecordedMails('payment-failed');

  constructor(
    private readonly effects: Effects,
    private readonly mailer: Mailer,
  ) {}

  onPaymentFailed = async (event: InboundEvent<OrderPaymentFailed>): Promise<void> => {
    const failure = event.value;
    const sent = await this.effects.handleOnce(event, async (client) => {
      const recorded = await client.query(
        'INSERT INTO email_payment_failures (order_id, cause_event_id, handled_by) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING',
        [failure.orderId, event.eventId, instanceId],
      );
      if (recorded.rowCount !== 1) return false;
      await appendSentStep(this.effects.outbox, client, event, failure.orderId, 'payment-failed-mail', 'payment failed mail sent');
      if (!this.unrecorded.has(failure.orderId)) {
        await this.mailer.send(paymentFailedFor(failure), event.signal);
        this.unrecorded.accepted(failure.orderId);
      }
      return true;
    });
    this.unrecorded.recorded(failure.orderId);
    if (sent === DUPLICATE) return;
    paymentFailedMails.inc({ outcome: sent ? 'sent' : 'already-sent' });
    event.logger.info({ orderId: failure.orderId }, sent ? 'payment failed mail sent' : 'payment failed mail sent before; nothing sent');
  };
}
