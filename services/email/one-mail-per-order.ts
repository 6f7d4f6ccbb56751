import type { Counter } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { DUPLICATE } from '../../shared/kit/handle-once.js';
import type { Effects } from '../../shared/kit/service-parts.js';
import { instanceId } from '../../shared/logger.js';
import type { Confirmation } from './confirmation.js';
import type { Mailer } from './mailer.js';
import { appendSentStep } from './sent-step.js';
import { UnrecordedMails } from './unrecorded-mails.js';

export interface OneMailPerOrderOptions<T> {
  /** The mail's label in metrics (email_unrecorded_mails{mail}). */
  mail: ConstructorParameters<typeof UnrecordedMails>[0];
  /** What the mail is, for logs and the order.steps detail ("order follow-up"). */
  what: string;
  /** The table recording which orders got it: `order_id` unique, `cause_event_id`, `handled_by`. */
  table: string;
  /** The step it reports on order.steps. */
  step: string;
  /** sent / already-sent. */
  counter: Counter<'outcome'>;
  mailFor(value: T): Confirmation;
}

/**
 * A handler that sends one mail per order, whichever events ask for it. The same shape as the
 * confirmation (handlers.ts): the claim, the send record and the order.steps report commit in one
 * transaction around the SMTP send, so a redelivered or re-published event sends nothing; a mail
 * accepted while that transaction failed is recorded at its next delivery, not sent again.
 */
export function oneMailPerOrder<T extends { orderId: string }>(
  effects: Effects,
  mailer: Mailer,
  options: OneMailPerOrderOptions<T>,
): (event: InboundEvent<T>) => Promise<void> {
  const unrecorded = new UnrecordedMails(options.mail);
  return async (event) => {
    const { orderId } = event.value;
    const sent = await effects.handleOnce(event, async (client) => {
      const recorded = await client.query(
        `INSERT INTO ${options.table} (order_id, cause_event_id, handled_by) VALUES ($1, $2, $3) ON CONFLICT (order_id) DO NOTHING`,
        [orderId, event.eventId, instanceId],
      );
      if (recorded.rowCount !== 1) return false;
      await appendSentStep(effects.outbox, client, event, orderId, options.step, `${options.what} sent`);
      if (!unrecorded.has(orderId)) {
        await mailer.send(options.mailFor(event.value), event.signal);
        unrecorded.accepted(orderId);
      }
      return true;
    });
    unrecorded.recorded(orderId);
    if (sent === DUPLICATE) return;
    options.counter.inc({ outcome: sent ? 'sent' : 'already-sent' });
    event.logger.info({ orderId }, sent ? `${options.what} sent` : `${options.what} sent before; nothing sent`);
  };
}
