import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { OrderCreated, OrderStep } from '../../shared/contracts/schemas.js';
import { confirmationFor } from './confirmation.js';
import type { Mailer } from './mailer.js';

const confirmations = new Counter({
  name: 'email_confirmations_total',
  help: 'Order confirmations: sent, or already-sent (another event for an order mailed before; redeliveries: pipeline_duplicate_events_total)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

const SENT = 'sent';
/** The outcome of an event whose order was mailed for another event id. */
const ALREADY_SENT = 'already-sent';

/**
 * Sends one confirmation per order. The claim (handleOnce), the send record and the
 * order.steps report commit in one transaction around the SMTP send:
 * - a redelivered event finds the claim and sends nothing;
 * - two members handling the same event at once (right after a rebalance) serialise on the claim's
 *   row: the second waits for the first transaction and then finds the claim;
 * - a failed send rolls the claim back, so the retry sends;
 * - another event id for an order already mailed (a re-published order.created) finds the order's
 *   send record before sending: it is a duplicate effect, claimed and counted, never a failure that
 *   would send again on every attempt. The record is written first so that two such events at once
 *   serialise on its row; a failed send rolls it back with the claim.
 * The remaining crash window: SMTP and PostgreSQL cannot commit together. If the process dies, or
 * the COMMIT fails, after the server accepted the message (250) and before the COMMIT, the claim is
 * rolled back and the redelivery sends a second mail. The window is the few milliseconds between
 * the 250 and the COMMIT; the duplicate carries the same Message-ID, so mail clients can fold it.
 */
export class EmailHandlers {
  constructor(
    private readonly effects: Effects,
    private readonly mailer: Mailer,
  ) {}

  onOrderCreated = async (event: InboundEvent<OrderCreated>): Promise<void> => {
    const order = event.value;
    const sent = await this.effects.handleOnce(event, async (client) => {
      const mail = confirmationFor(order);
      const recorded = await client.query(
        'INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by) VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING',
        [order.orderId, event.eventId, mail.messageId, instanceId],
      );
      if (recorded.rowCount !== 1) return ALREADY_SENT;
      await this.mailer.send(mail, event.signal);
      const eventId = randomUUID();
      const step: OrderStep = {
        eventId,
        orderId: order.orderId,
        causationId: event.eventId,
        service: 'email',
        outcome: 'sent',
        detail: 'order confirmation sent',
        handledBy: instanceId,
        occurredAt: Date.now(),
      };
      await this.effects.outbox.append(client, [
        { topic: topics.orderSteps, key: order.orderId, eventId, correlationId: event.correlationId, value: step },
      ]);
      return SENT;
    });
    if (sent === DUPLICATE) return;
    if (sent === ALREADY_SENT) {
      confirmations.inc({ outcome: ALREADY_SENT });
      event.logger.info({ orderId: order.orderId }, 'order confirmation sent before for another event; nothing sent');
      return;
    }
    confirmations.inc({ outcome: SENT });
    // The address is never logged; the order id is enough to find the mail.
    event.logger.info({ orderId: order.orderId }, 'order confirmation sent');
  };
}
