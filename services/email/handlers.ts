import { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import type { PoolClient } from '../../shared/db.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { DUPLICATE, type Duplicate } from '../../shared/kit/handle-once.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { OrderCreated } from '../../shared/contracts/schemas.js';
import { confirmationFor, type Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { appendSentStep } from './sent-step.js';
import { UnrecordedMails } from './unrecorded-mails.js';

const confirmations = new Counter({
  name: 'email_confirmations_total',
  help: 'Order confirmations: sent, or already-sent (another event for an order mailed before; redeliveries: pipeline_duplicate_events_total)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

const SENT = 'sent';
/** The outcome of an event whose order was mailed for another event id. */
const ALREADY_SENT = 'already-sent';
type Outcome = typeof SENT | typeof ALREADY_SENT;

/**
 * Sends one confirmation per order, at least once and, unless the process dies at the wrong moment,
 * exactly once. One transaction claims the event (handleOnce), records the order as mailed and
 * appends the order.steps report, then sends; so after the SMTP server's 250 only the COMMIT is left:
 * - a redelivered event finds the claim and sends nothing;
 * - two members handling the same event at once (right after a rebalance) serialise on the claim's
 *   row: the second waits for the first transaction and then finds the claim;
 * - a failed send rolls the record back with the claim, so the retry sends;
 * - another event id for an order already mailed (a re-published order.created) finds the order's
 *   record before sending: it is a duplicate effect, claimed and counted, never a failure that
 *   would send again on every attempt. Two such events at once serialise on the record's row.
 * If the transaction fails after the 250 (a database outage terminates it, the COMMIT fails), the
 * mail is out and only its record is missing. The order is then kept in `unrecorded`, and the next
 * delivery of it to this process (the same message once the runtime's hold on an unavailable
 * database ends, a retry tier, another event id, a call abandoned at its deadline) records it
 * without sending: the record is not rolled back into a second send.
 * The remaining window, at least once by choice (not sending when an earlier attempt may have sent
 * would lose every mail whose attempt failed before the 250): if the process dies between the 250
 * and the record's commit (one round trip; during an outage, until the database is back and the
 * message delivered again), or another member takes the partition meanwhile, the redelivery sends
 * a second mail with the same Message-ID, which mail clients fold. `email_unrecorded_mails`
 * shows when it is open.
 */
export class EmailHandlers {
  private readonly unrecorded = new UnrecordedMails('confirmation');

  constructor(
    private readonly effects: Effects,
    private readonly mailer: Pick<Mailer, 'send'>,
  ) {}

  onOrderCreated = async (event: InboundEvent<OrderCreated>): Promise<void> => {
    const order = event.value;
    const mail = confirmationFor(order);
    let outcome: Outcome | Duplicate;
    let acceptedNow = false;
    try {
      outcome = await this.effects.handleOnce(event, async (tx) => {
        const recorded = await this.record(tx, event, mail);
        if (recorded === SENT && !this.unrecorded.has(order.orderId)) {
          await this.mailer.send(mail, event.signal);
          this.unrecorded.accepted(order.orderId);
          acceptedNow = true;
        }
        return recorded;
      });
    } catch (error) {
      // Not accepted: the retry sends. Accepted: the mail is out, and only its record is missing.
      if (acceptedNow) event.logger.warn({ orderId: order.orderId }, 'order confirmation sent but not recorded; its next delivery records it without sending');
      throw error;
    }
    this.unrecorded.recorded(order.orderId);
    if (outcome === DUPLICATE) return;
    if (outcome === ALREADY_SENT) {
      confirmations.inc({ outcome: ALREADY_SENT });
      event.logger.info({ orderId: order.orderId }, 'order confirmation sent before for another event; nothing sent');
      return;
    }
    confirmations.inc({ outcome: SENT });
    // The address is never logged; the order id is enough to find the mail.
    event.logger.info({ orderId: order.orderId }, 'order confirmation sent');
  };

  /** Records the order as mailed and reports the step, in the claiming transaction; ALREADY_SENT when another event's did. */
  private async record(tx: PoolClient, event: InboundEvent<OrderCreated>, mail: Confirmation): Promise<Outcome> {
    const order = event.value;
    const recorded = await tx.query(
      'INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by) VALUES ($1, $2, $3, $4) ON CONFLICT (order_id) DO NOTHING',
      [order.orderId, event.eventId, mail.messageId, instanceId],
    );
    if (recorded.rowCount !== 1) return ALREADY_SENT;
    await appendSentStep(this.effects.outbox, tx, event, order.orderId, 'email', 'order confirmation sent');
    return SENT;
  }
}
