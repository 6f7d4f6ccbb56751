import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge } from 'prom-client';
import type { InboundEvent } from '../../shared/consumer/types.js';
import { topics } from '../../shared/contracts/topics.js';
import type { PoolClient } from '../../shared/db.js';
import type { ServiceParts } from '../../shared/kit/service-parts.js';
import { DUPLICATE, type Duplicate } from '../../shared/kit/handle-once.js';
import { instanceId } from '../../shared/logger.js';
import { metrics } from '../../shared/metrics.js';
import type { OrderCreated, OrderStep } from '../../shared/contracts/schemas.js';
import { confirmationFor, type Confirmation } from './confirmation.js';
import { databaseUnavailable } from './database-unavailable.js';
import type { Mailer } from './mailer.js';

const confirmations = new Counter({
  name: 'email_confirmations_total',
  help: 'Order confirmations: sent, or already-sent (another event for an order mailed before; redeliveries: pipeline_duplicate_events_total)',
  labelNames: ['outcome'] as const,
  registers: [metrics],
});

const unrecordedGauge = new Gauge({
  name: 'email_unrecorded_confirmations',
  help: 'Confirmations the SMTP server accepted whose record has not committed yet (waiting for the database); a process dying now sends them again',
  registers: [metrics],
});

const SENT = 'sent';
/** The outcome of an event whose order was mailed for another event id. */
const ALREADY_SENT = 'already-sent';
type Outcome = typeof SENT | typeof ALREADY_SENT;

/** What the handlers use: the claim with its effect, the outbox, and the pool for the record of an attempt. */
export type EmailEffects = Pick<ServiceParts<unknown>, 'handleOnce' | 'outbox' | 'pool'>;

export interface RecordBackoff {
  /** @defaultValue 100 */
  firstMs: number;
  /** @defaultValue 1000 */
  maxMs: number;
}

/**
 * Sends one confirmation per order, at least once and, unless the process dies at the wrong moment,
 * exactly once:
 * 1. The attempt is recorded before anything is sent: an email_sends row without sent_at, committed
 *    on its own (kept if an attempt fails; the next one reuses it).
 * 2. One transaction claims the event (handleOnce), locks the order's row, sends unless the row says
 *    sent, then sets sent_at and appends the order.steps report. So a redelivered event finds the
 *    claim and sends nothing; two members handling the same event at once (right after a rebalance),
 *    or two event ids for one order (a re-published order.created), serialise on the locks and the
 *    second finds the first's outcome; a failed send rolls back, and the retry sends.
 * 3. If that transaction fails after the SMTP server accepted the mail (250) — a database outage
 *    terminates it, the COMMIT fails — the mail is out and only its record is missing: the record
 *    is written again in a transaction of its own, retried while the database is unavailable, and
 *    never rolled back into a second send. Until it commits, the order is kept in `unrecorded`, so
 *    another delivery for it to this process (a retry tier, another event id) records it without
 *    sending again.
 * The remaining window, at least once by choice (the alternative, not sending when an earlier
 * attempt did not finish, loses the mail whenever that attempt failed before the 250): if the
 * process dies after the 250 and before the record commits (milliseconds; as long as the database
 * stays away during an outage), or another member takes the partition during the outage and reaches
 * the database first, the redelivery finds no sent_at and sends a second mail with the same
 * Message-ID, which mail clients fold. `email_unrecorded_confirmations` shows when it is open.
 */
export class EmailHandlers {
  /** Orders whose mail the SMTP server accepted in this process and whose record has not committed. */
  private readonly unrecorded = new Set<string>();

  constructor(
    private readonly effects: EmailEffects,
    private readonly mailer: Pick<Mailer, 'send'>,
    private readonly backoff: RecordBackoff = { firstMs: 100, maxMs: 1000 },
  ) {}

  onOrderCreated = async (event: InboundEvent<OrderCreated>): Promise<void> => {
    const order = event.value;
    const mail = confirmationFor(order);
    let outcome: Outcome | Duplicate;
    try {
      const attempt = await this.effects.pool.query(
        'INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by, sent_at) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (order_id) DO NOTHING',
        [order.orderId, event.eventId, mail.messageId, instanceId],
      );
      outcome = await this.effects.handleOnce(event, async (tx) => {
        const row = await tx.query<{ sent: boolean }>('SELECT sent_at IS NOT NULL AS sent FROM email_sends WHERE order_id = $1 FOR UPDATE', [order.orderId]);
        if (row.rows[0]?.sent) return ALREADY_SENT;
        if (!this.unrecorded.has(order.orderId)) {
          if (attempt.rowCount !== 1) event.logger.info({ orderId: order.orderId }, 'an earlier attempt for this order did not finish (its mail may be out); sending');
          await this.mailer.send(mail);
          this.accepted(order.orderId);
        }
        return this.record(tx, event, mail);
      });
    } catch (error) {
      // Not accepted: the retry sends. Accepted: the mail is out, and only its record is missing.
      if (!this.unrecorded.has(order.orderId)) throw error;
      outcome = await this.recordWhileUnavailable(event, mail, error);
    }
    this.recorded(order.orderId);
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

  /** Sets sent_at (unless another event's attempt did) and reports the step; in the claiming transaction. */
  private async record(tx: PoolClient, event: InboundEvent<OrderCreated>, mail: Confirmation): Promise<Outcome> {
    const order = event.value;
    const recorded = await tx.query(
      `INSERT INTO email_sends (order_id, cause_event_id, message_id, handled_by, sent_at) VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (order_id) DO UPDATE SET cause_event_id = excluded.cause_event_id, message_id = excluded.message_id,
         handled_by = excluded.handled_by, sent_at = excluded.sent_at
       WHERE email_sends.sent_at IS NULL`,
      [order.orderId, event.eventId, mail.messageId, instanceId],
    );
    if (recorded.rowCount !== 1) return ALREADY_SENT;
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
    await this.effects.outbox.append(tx, [{ topic: topics.orderSteps, key: order.orderId, eventId, correlationId: event.correlationId, value: step }]);
    return SENT;
  }

  /**
   * The record of a mail already accepted, in a transaction of its own, tried again with backoff for
   * as long as the database is unavailable (the handler holds its partition meanwhile, as a pause
   * would). Any other failure is thrown: the event takes its retry path, and its redelivery to this
   * process records without sending.
   */
  private async recordWhileUnavailable(event: InboundEvent<OrderCreated>, mail: Confirmation, failure: unknown): Promise<Outcome | Duplicate> {
    event.logger.warn({ orderId: event.value.orderId, err: failure }, 'order confirmation sent but not recorded; recording it as soon as the database answers');
    for (let delay = this.backoff.firstMs; ; delay = Math.min(delay * 2, this.backoff.maxMs)) {
      try {
        // DUPLICATE: the first COMMIT did land (its answer was lost), or another delivery recorded it.
        return await this.effects.handleOnce(event, (tx) => this.record(tx, event, mail));
      } catch (error) {
        if (!databaseUnavailable(error)) throw error;
      }
      await sleep(delay);
    }
  }

  private accepted(orderId: string): void {
    if (this.unrecorded.has(orderId)) return;
    this.unrecorded.add(orderId);
    unrecordedGauge.inc();
  }

  private recorded(orderId: string): void {
    if (this.unrecorded.delete(orderId)) unrecordedGauge.dec();
  }
}
