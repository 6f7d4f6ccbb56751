import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { OrderFollowUp } from '../../shared/contracts/schemas.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { appendSentStep } from './sent-step.js';
import { UnrecordedMails } from './unrecorded-mails.js';

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
 * since). The same shape as the confirmation (handlers.ts): the claim, the send record and the
 * order.steps report commit in one transaction around the SMTP send, so a redelivered or
 * re-published event sends nothing; a mail accepted while that transaction failed is recorded at
 * its next delivery, not sent again.
 */
export class FollowUpHandlers {
  private readonly unrecorded = new UnrecordedMails('follow-up');

  constructor(
    private readonly effects: Effects,
    private readonly mailer: Mailer,
  ) {}

  onFollowUp = async (event: InboundEvent<OrderFollowUp>): Promise<void> => {
    const followUp = event.value;
    const sent = await this.effects.handleOnce(event, async (client) => {
      const recorded = await client.query(
        'INSERT INTO email_follow_ups (order_id, cause_event_id, handled_by) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING',
        [followUp.orderId, event.eventId, instanceId],
      );
      if (recorded.rowCount !== 1) return false;
      await appendSentStep(this.effects.outbox, client, event, followUp.orderId, 'follow-up', 'order follow-up sent');
      if (!this.unrecorded.has(followUp.orderId)) {
        await this.mailer.send(followUpFor(followUp), event.signal);
        this.unrecorded.accepted(followUp.orderId);
      }
      return true;
    });
    this.unrecorded.recorded(followUp.orderId);
    if (sent === DUPLICATE) return;
    followUps.inc({ outcome: sent ? 'sent' : 'already-sent' });
    event.logger.info({ orderId: followUp.orderId }, sent ? 'order follow-up sent' : 'order follow-up sent before; nothing sent');
  };
}
